#include "cli/run.hpp"

int main(int argc, char** argv) {
    return assetctl::cli::run(argc, argv);
}
