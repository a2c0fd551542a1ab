/* libisolation_versioned.so.1, built twice from this file: v1 and v2 share the soname and the
 * symbols but behave differently, like two releases of one third-party native library that
 * cannot be loaded into one process side by side. */
#if ISOLATION_VERSION == 1
const char* isolation_library_version(void) { return "v1"; }
long long isolation_transform(long long x) { return x + 1000; }
#elif ISOLATION_VERSION == 2
const char* isolation_library_version(void) { return "v2"; }
long long isolation_transform(long long x) { return x * 2 + 1; }
#else
#error "define ISOLATION_VERSION to 1 or 2"
#endif
