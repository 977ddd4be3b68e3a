// main() of the unit test executables; exit codes as run_catch_session says.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "catch_session.hpp"

int main(int argc, char* argv[]) {
    return assetctl::test::run_catch_session(argc, argv);
}
