#include "supervisor/image/folder_scan.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>

namespace ringserve::supervisor::image {
namespace fs = std::filesystem;

bool skippedFolder(const std::string& name) {
  return name == ".git" || name == ".envs" || name == ".metrics" || name == ".ringserve" || name == "build" ||
         name == "__pycache__";
}

namespace {

std::string relativeTo(const fs::path& p, const fs::path& root) {
  auto rel = p.lexically_relative(root).generic_string();
  return rel.empty() ? "." : rel;
}

// `file` as a JSON object, owned by `parser`; one line naming the file when it is not one.
ImageResult<simdjson::dom::object> loadObject(simdjson::dom::parser& parser, const fs::path& file) {
  simdjson::dom::element doc;
  if (auto err = parser.load(file.string()).get(doc)) {
    return ImageError{file.string() + ": not valid JSON (" + simdjson::error_message(err) + ")"};
  }
  simdjson::dom::object object;
  if (doc.get(object)) return ImageError{file.string() + ": must hold a JSON object"};
  return object;
}

// settings.json's fields as the variables that set them. MLSERVER_<FIELD>, the prefix that loses
// to RINGSERVE_<FIELD>: so `-e RINGSERVE_X` wins over the baked default and `-e MLSERVER_X`
// replaces it.
ImageResult<bool> readSettings(const fs::path& file, FolderScan& scan) {
  simdjson::dom::parser parser;
  auto loaded = loadObject(parser, file);
  if (!loaded) return loaded.error();
  simdjson::dom::object object = loaded.value();
  for (auto [key, value] : object) {
    std::string name = "MLSERVER_";
    for (char c : key) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string_view text;
    std::string v = value.get(text) ? simdjson::minify(value) : std::string(text);
    if (v.find('\n') != std::string::npos) {
      return ImageError{file.string() + ": field '" + std::string(key) + "' holds a newline, which an image's ENV default cannot"};
    }
    scan.settingsEnv.emplace_back(std::move(name), std::move(v));
  }
  return true;
}

// The built-in Python runtimes whose libraries come from Debian (share/python-<name>-packages.txt).
constexpr const char* kBuiltinPythonRuntimes[] = {"mlserver_sklearn", "mlserver_xgboost"};

// A model-settings.json's implementation, when its package is one of kBuiltinPythonRuntimes and
// the model brings no environment: the image needs that runtime's libraries.
ImageResult<bool> readModelSettings(const fs::path& file, FolderScan& scan) {
  simdjson::dom::parser parser;
  auto loaded = loadObject(parser, file);
  if (!loaded) return loaded.error();
  simdjson::dom::object object = loaded.value();
  simdjson::dom::element implementation;
  // No implementation: the server refuses the model when it loads it, with its own message.
  if (object["implementation"].get(implementation)) return true;
  std::string_view text;
  if (implementation.get(text)) return ImageError{file.string() + ": implementation must be a string"};
  simdjson::dom::object parameters;
  if (!object["parameters"].get(parameters) &&
      (!parameters["environment_tarball"].error() || !parameters["environment_path"].error())) {
    return true;
  }
  const std::string_view package = text.substr(0, text.find('.'));
  for (const char* name : kBuiltinPythonRuntimes) {
    if (package == name && std::find(scan.builtinPythonRuntimes.begin(), scan.builtinPythonRuntimes.end(), name) ==
                               scan.builtinPythonRuntimes.end()) {
      scan.builtinPythonRuntimes.emplace_back(name);
    }
  }
  return true;
}

}  // namespace

ImageResult<FolderScan> scanFolder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return ImageError{dir.string() + " is not a folder"};
  FolderScan scan;
  const fs::path root = fs::absolute(dir).lexically_normal();
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) return ImageError{"cannot read " + dir.string() + ": " + ec.message()};
  for (; it != end; it.increment(ec)) {
    if (ec) return ImageError{"cannot read " + dir.string() + ": " + ec.message()};
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      if (skippedFolder(name)) it.disable_recursion_pending();
      continue;
    }
    const std::string parent = relativeTo(p.parent_path(), root);
    if (name == "model-settings.json") {
      scan.models.push_back(parent);
      if (auto read = readModelSettings(p, scan); !read) return read.error();
    }
    if (name == "CMakeLists.txt") scan.cmakeProjects.push_back(parent);
  }
  if (fs::is_regular_file(root / "settings.json", ec)) {
    if (auto read = readSettings(root / "settings.json", scan); !read) return read.error();
  }
  if (fs::is_regular_file(root / "requirements.txt", ec)) scan.requirements = "requirements.txt";
  for (const char* name : {"environment.yaml", "environment.yml", "conda.yaml", "conda.yml"}) {
    if (fs::is_regular_file(root / name, ec)) {
      scan.condaEnvironment = name;
      break;
    }
  }
  if (scan.models.empty()) {
    return ImageError{dir.string() + " holds no model-settings.json, so an image of it would serve no models"};
  }
  std::sort(scan.models.begin(), scan.models.end());
  std::sort(scan.cmakeProjects.begin(), scan.cmakeProjects.end());
  std::sort(scan.builtinPythonRuntimes.begin(), scan.builtinPythonRuntimes.end());
  // Keep only top-level projects: a CMakeLists.txt below another is that project's subdirectory.
  std::vector<std::string> top;
  for (const auto& p : scan.cmakeProjects) {
    const bool nested = std::any_of(top.begin(), top.end(), [&](const std::string& t) {
      return t == "." || p.starts_with(t + "/");
    });
    if (!nested) top.push_back(p);
  }
  scan.cmakeProjects = std::move(top);
  return scan;
}

}  // namespace ringserve::supervisor::image
