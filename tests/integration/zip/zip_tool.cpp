// The packaging module from the command line, for test_zip_vs_cdk_assets.py:
//   zip_tool zip SRC_DIR OUT_ZIP          prints `<entries> <bytes>`
//   zip_tool content-type NAME...         one Content-Type per line
// Exit 0, or 1 with the error on stderr.
#include <exception>
#include <iostream>
#include <string>

#include "packaging/zip_directory.hpp"

int main(int argc, char* argv[]) {
    const std::string command = argc > 1 ? argv[1] : "";
    try {
        if (command == "zip" && argc == 4) {
            const auto report = assetctl::packaging::zip_directory(argv[2], argv[3]);
            std::cout << report.entries << ' ' << report.bytes << '\n';
            return 0;
        }
        if (command == "content-type") {
            for (int i = 2; i < argc; ++i) {
                std::cout << assetctl::packaging::content_type_for(argv[i]) << '\n';
            }
            return 0;
        }
        std::cerr << "usage: zip_tool zip SRC_DIR OUT_ZIP | zip_tool content-type NAME...\n";
    } catch (const std::exception& e) {
        std::cerr << "zip_tool: " << e.what() << '\n';
    }
    return 1;
}
