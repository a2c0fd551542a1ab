#pragma once
// SHA-256 (OpenSSL EVP) of byte streams and files: the content address of an environment tarball.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "supervisor/environments/env_error.hpp"

namespace ringserve::supervisor::environments {

// Incremental digest. Move-only (owns an EVP_MD_CTX).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const std::byte> bytes);
  void update(std::string_view text);
  // Lower-case hex of the digest; the object must not be updated afterwards.
  std::string finishHex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256Hex(std::string_view text);
// Reads the whole file (1 MiB chunks). An error when it does not exist or cannot be read.
EnvResult<std::string> sha256File(const std::filesystem::path& file);

}  // namespace ringserve::supervisor::environments
