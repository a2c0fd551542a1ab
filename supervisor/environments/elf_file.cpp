#include "supervisor/environments/elf_file.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <span>

#include "transport/unique_fd.hpp"

namespace ringserve::supervisor::environments {
namespace {

// A read-only mapping of the whole file.
class Mapping {
 public:
  Mapping(void* p, std::size_t n) : p_(p), n_(n) {}
  ~Mapping() {
    if (p_ != MAP_FAILED && p_ != nullptr) ::munmap(p_, n_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(p_), n_}; }

 private:
  void* p_;
  std::size_t n_;
};

template <class T>
std::optional<T> readAt(std::span<const std::byte> file, std::uint64_t offset) {
  if (offset > file.size() || file.size() - offset < sizeof(T)) return std::nullopt;
  T value;
  std::memcpy(&value, file.data() + offset, sizeof(T));
  return value;
}

struct Elf64 {
  using Ehdr = Elf64_Ehdr;
  using Phdr = Elf64_Phdr;
  using Dyn = Elf64_Dyn;
};
struct Elf32 {
  using Ehdr = Elf32_Ehdr;
  using Phdr = Elf32_Phdr;
  using Dyn = Elf32_Dyn;
};

std::vector<std::string> splitPath(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    auto colon = s.find(':', pos);
    if (colon == std::string::npos) colon = s.size();
    if (colon > pos) out.push_back(s.substr(pos, colon - pos));
    pos = colon + 1;
  }
  return out;
}

template <class E>
EnvResult<ElfInfo> parse(std::span<const std::byte> file, const std::string& name) {
  const auto malformed = [&](const char* what) { return EnvError{name + " is a malformed ELF file (" + what + ")"}; };
  auto eh = readAt<typename E::Ehdr>(file, 0);
  if (!eh) return malformed("truncated header");
  ElfInfo info;
  info.is64 = sizeof(typename E::Ehdr) == sizeof(Elf64_Ehdr);
  info.machine = eh->e_machine;
  info.type = eh->e_type;
  if (eh->e_phentsize != sizeof(typename E::Phdr) && eh->e_phnum != 0) return malformed("program header size");

  std::vector<typename E::Phdr> loads;
  std::optional<typename E::Phdr> dynamic;
  for (std::uint64_t i = 0; i < eh->e_phnum; ++i) {
    auto ph = readAt<typename E::Phdr>(file, eh->e_phoff + i * sizeof(typename E::Phdr));
    if (!ph) return malformed("program headers past the end of the file");
    if (ph->p_type == PT_LOAD) loads.push_back(*ph);
    if (ph->p_type == PT_DYNAMIC) dynamic = *ph;
  }
  if (!dynamic) return info;  // static executable: no dependencies

  // Virtual address -> file offset through the PT_LOAD segments.
  const auto fileOffset = [&](std::uint64_t vaddr) -> std::optional<std::uint64_t> {
    for (const auto& l : loads) {
      if (vaddr >= l.p_vaddr && vaddr - l.p_vaddr < l.p_filesz) return l.p_offset + (vaddr - l.p_vaddr);
    }
    return std::nullopt;
  };
  std::optional<std::uint64_t> strtab;
  std::uint64_t strsz = 0;
  std::vector<std::pair<std::int64_t, std::uint64_t>> strings;  // (tag, offset into strtab)
  const std::uint64_t count = dynamic->p_filesz / sizeof(typename E::Dyn);
  for (std::uint64_t i = 0; i < count; ++i) {
    auto d = readAt<typename E::Dyn>(file, dynamic->p_offset + i * sizeof(typename E::Dyn));
    if (!d) return malformed("dynamic section past the end of the file");
    const auto tag = static_cast<std::int64_t>(d->d_tag);
    if (tag == DT_NULL) break;
    if (tag == DT_STRTAB) strtab = fileOffset(d->d_un.d_ptr);
    if (tag == DT_STRSZ) strsz = d->d_un.d_val;
    if (tag == DT_NEEDED || tag == DT_SONAME || tag == DT_RPATH || tag == DT_RUNPATH)
      strings.emplace_back(tag, d->d_un.d_val);
  }
  if (strings.empty()) return info;
  if (!strtab || *strtab > file.size() || strsz > file.size() - *strtab) return malformed("string table");
  const char* table = reinterpret_cast<const char*>(file.data() + *strtab);
  for (auto [tag, offset] : strings) {
    if (offset >= strsz) return malformed("string offset");
    const char* s = table + offset;
    const void* nul = std::memchr(s, 0, strsz - offset);
    if (!nul) return malformed("unterminated string");
    std::string value(s, static_cast<const char*>(nul));
    if (tag == DT_NEEDED)
      info.needed.push_back(value);
    else if (tag == DT_SONAME)
      info.soname = value;
    else if (tag == DT_RPATH)
      info.rpath = splitPath(value);
    else
      info.runpath = splitPath(value);
  }
  return info;
}

}  // namespace

EnvResult<ElfInfo> readElf(const std::filesystem::path& path) {
  const std::string name = path.string();
  transport::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return EnvError{name + " does not exist"};
    return EnvError{"cannot open " + name + ": " + std::strerror(errno)};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return EnvError{"cannot stat " + name + ": " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode)) return EnvError{name + " is not a regular file"};
  if (st.st_size < EI_NIDENT) return EnvError{name + " is not an ELF file"};
  const auto size = static_cast<std::size_t>(st.st_size);
  Mapping map(::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0), size);
  if (map.bytes().data() == MAP_FAILED) return EnvError{"cannot map " + name + ": " + std::strerror(errno)};
  auto bytes = map.bytes();
  const auto* ident = reinterpret_cast<const unsigned char*>(bytes.data());
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0) return EnvError{name + " is not an ELF file"};
  const bool little = ident[EI_DATA] == ELFDATA2LSB;
  if (little != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)) {
    return EnvError{name + " is an ELF file of the other byte order"};
  }
  if (ident[EI_CLASS] == ELFCLASS64) return parse<Elf64>(bytes, name);
  if (ident[EI_CLASS] == ELFCLASS32) return parse<Elf32>(bytes, name);
  return EnvError{name + " is a malformed ELF file (class)"};
}

std::string elfMachineName(std::uint16_t machine) {
  switch (machine) {
    case EM_X86_64: return "x86_64";
    case EM_AARCH64: return "aarch64";
    case EM_386: return "i686";
    case EM_ARM: return "armv7l";
    case EM_PPC64: return "ppc64le";
    case EM_S390: return "s390x";
    case EM_RISCV: return "riscv64";
    default: return "machine " + std::to_string(machine);
  }
}

std::uint16_t hostElfMachine() {
#if defined(__x86_64__)
  return EM_X86_64;
#elif defined(__aarch64__)
  return EM_AARCH64;
#elif defined(__i386__)
  return EM_386;
#elif defined(__arm__)
  return EM_ARM;
#elif defined(__powerpc64__)
  return EM_PPC64;
#elif defined(__s390x__)
  return EM_S390;
#elif defined(__riscv)
  return EM_RISCV;
#else
  return EM_NONE;
#endif
}

}  // namespace ringserve::supervisor::environments
