#include "util/environment.hpp"

#include <array>
#include <cstdlib>
#include <pwd.h>
#include <unistd.h>
#include <utility>

namespace assetctl::util {

std::optional<std::string> Environment::get_non_empty(std::string_view name) const {
    auto value = get(name);
    if (value && value->empty()) {
        return std::nullopt;
    }
    return value;
}

std::filesystem::path home_directory(const Environment& env) {
    if (auto home = env.get_non_empty("HOME")) {
        return *home;
    }
    passwd entry{};
    passwd* found = nullptr;
    std::array<char, 16384> buffer{};
    if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 &&
        found != nullptr && found->pw_dir != nullptr) {
        return found->pw_dir;
    }
    return {};
}

std::optional<std::string> SystemEnvironment::get(std::string_view name) const {
    const std::string key(name);
    if (const char* value = std::getenv(key.c_str())) {
        return std::string(value);
    }
    return std::nullopt;
}

MapEnvironment::MapEnvironment(
    std::initializer_list<std::pair<const std::string, std::string>> values)
    : values_(values) {}

std::optional<std::string> MapEnvironment::get(std::string_view name) const {
    if (auto it = values_.find(name); it != values_.end()) {
        return it->second;
    }
    return std::nullopt;
}

void MapEnvironment::set(std::string name, std::string value) {
    values_.insert_or_assign(std::move(name), std::move(value));
}

}  // namespace assetctl::util
