// A cloud assembly folder (`cdk.out`) read through its manifest.json, as `--path cdk.out` does:
// the input is up to four documents cut at k_part_separator, written as manifest.json,
// Stack.assets.json, and a nested stage's nested.assembly/manifest.json and
// nested.assembly/Nested.assets.json (fuzz/make_seeds.py makes seeds of that shape from real
// assemblies). Then everything is selected. Only ManifestError and util::Fatal may escape
// load_assembly and select_assets.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "manifest/assembly.hpp"
#include "manifest/errors.hpp"
#include "manifest/selection.hpp"

using namespace assetctl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 4);
    const auto dir = fuzz::fresh_scratch_folder("cdk.out");
    fuzz::write_scratch_file("cdk.out/manifest.json", parts[0]);
    fuzz::write_scratch_file("cdk.out/Stack.assets.json", parts[1]);
    if (!parts[2].empty()) {
        fuzz::write_scratch_file("cdk.out/nested.assembly/manifest.json", parts[2]);
        fuzz::write_scratch_file("cdk.out/nested.assembly/Nested.assets.json", parts[3]);
    }
    try {
        const auto assembly = manifest::load_assembly(dir);
        (void)manifest::select_assets(assembly, {});
    } catch (const util::Fatal&) {
    }
    return 0;
}
