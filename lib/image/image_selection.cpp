#include "image/image_selection.hpp"

#include <algorithm>
#include <string_view>

#include "image/image_error.hpp"

namespace assetctl::image {

namespace {

// Appends `item`, after `separator` unless `out` is still empty.
void append_separated(std::string& out, std::string_view separator, std::string_view item) {
    if (!out.empty()) {
        out += separator;
    }
    out += item;
}

bool matches_tag_part(const std::string& name, const std::string& tag) {
    const auto colon = name.rfind(':');
    if (colon == std::string::npos) {
        return false;
    }
    const std::string_view part = std::string_view(name).substr(colon + 1);
    return part.find('/') == std::string_view::npos && part == tag;
}

std::vector<std::size_t> all_of(const std::vector<Candidate>& candidates) {
    std::vector<std::size_t> all(candidates.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        all[i] = i;
    }
    return all;
}

// The candidates named exactly `tag`, or else those whose tag part is `tag`.
std::vector<std::size_t> matching(const std::vector<Candidate>& candidates,
                                  const std::string& tag) {
    std::vector<std::size_t> exact;
    std::vector<std::size_t> by_tag_part;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const auto& names = candidates[i].names;
        if (std::find(names.begin(), names.end(), tag) != names.end()) {
            exact.push_back(i);
        }
        if (std::any_of(names.begin(), names.end(),
                        [&](const std::string& name) { return matches_tag_part(name, tag); })) {
            by_tag_part.push_back(i);
        }
    }
    return exact.empty() ? by_tag_part : exact;
}

std::size_t select_by_tag(const SourceContext& context, const std::vector<Candidate>& candidates,
                          const std::string& tag) {
    const auto found = matching(candidates, tag);
    if (found.size() == 1) {
        return found.front();
    }
    if (found.empty()) {
        throw ImageError(
            context.label + " has no image named " + quote(tag) + "; the images it holds are: " +
            list_candidates(candidates, all_of(candidates)) + " (give one of these names)");
    }
    throw ImageError(context.label + ": " + quote(tag) + " matches several images (" +
                     list_candidates(candidates, found) +
                     "); give the full name of the one to use");
}

}  // namespace

std::string list_candidates(const std::vector<Candidate>& candidates,
                            const std::vector<std::size_t>& which) {
    std::string out;
    for (const std::size_t i : which) {
        const auto& candidate = candidates[i];
        std::string text;
        for (const auto& name : candidate.names) {
            append_separated(text, " = ", name);
        }
        append_separated(out, ", ", text.empty() ? candidate.unnamed : text);
    }
    return out;
}

std::size_t select_image(const SourceContext& context, const std::vector<Candidate>& candidates,
                         const ImageSelector& selector) {
    if (selector.tag) {
        return select_by_tag(context, candidates, *selector.tag);
    }
    if (candidates.size() == 1) {
        return 0;
    }
    if (selector.last_loaded) {
        return candidates.size() - 1;
    }
    throw ImageError(context.label + " holds " + std::to_string(candidates.size()) + " images (" +
                     list_candidates(candidates, all_of(candidates)) +
                     "); say which one to use by its name or tag");
}

}  // namespace assetctl::image
