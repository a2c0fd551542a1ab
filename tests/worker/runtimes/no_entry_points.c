/* A valid shared library that is not a ringserve plugin. */
__attribute__((visibility("default"))) int not_a_plugin(void) { return 42; }
