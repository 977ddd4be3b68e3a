#pragma once

// Internal to the image module: choosing one image among those a source holds.

#include <cstddef>
#include <string>
#include <vector>

#include "image/source_files.hpp"
#include "image/source_image.hpp"

namespace assetctl::image {

struct Candidate {
    std::vector<std::string> names;
    std::string unnamed;  // how to list it when it has no names
};

// "a:1 = a:latest, untagged image x" for the candidates at `which`.
std::string list_candidates(const std::vector<Candidate>& candidates,
                            const std::vector<std::size_t>& which);

// The index of the image `selector` picks (see ImageSelector); ImageError listing the
// candidates when none or several match.
std::size_t select_image(const SourceContext& context, const std::vector<Candidate>& candidates,
                         const ImageSelector& selector);

}  // namespace assetctl::image
