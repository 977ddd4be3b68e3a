#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "util/environment.hpp"

using namespace assetctl;

TEST_CASE("home_directory is HOME when set, else the password database's entry") {
    CHECK(util::home_directory(util::MapEnvironment{{"HOME", "/home/ci"}}) == "/home/ci");

    const passwd* entry = ::getpwuid(::getuid());
    REQUIRE(entry != nullptr);
    CHECK(util::home_directory(util::MapEnvironment{}) == entry->pw_dir);
    CHECK(util::home_directory(util::MapEnvironment{{"HOME", ""}}) == entry->pw_dir);
}
