#pragma once

#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace assetctl::util {

// Read access to environment variables, so tests can supply their own.
class Environment {
  public:
    virtual ~Environment() = default;
    virtual std::optional<std::string> get(std::string_view name) const = 0;

    // The value, or nullopt when the variable is unset or empty.
    std::optional<std::string> get_non_empty(std::string_view name) const;
};

// The real process environment.
// The user's home folder: HOME when set and not empty, else the password database's entry for
// this process's user; empty when neither names one.
std::filesystem::path home_directory(const Environment& env);

class SystemEnvironment final : public Environment {
  public:
    std::optional<std::string> get(std::string_view name) const override;
};

// A fixed set of variables (tests, or a scrubbed environment for children).
class MapEnvironment final : public Environment {
  public:
    MapEnvironment() = default;
    MapEnvironment(std::initializer_list<std::pair<const std::string, std::string>> values);

    std::optional<std::string> get(std::string_view name) const override;
    void set(std::string name, std::string value);

  private:
    std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace assetctl::util
