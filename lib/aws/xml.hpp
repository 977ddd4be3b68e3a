#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace assetctl::aws {

// A parsed XML document (libxml2; no network access, no entity expansion), read by element
// local names so namespaces do not matter. Only what STS answers need.
class XmlDocument {
  public:
    // nullopt when the text is not well-formed XML.
    static std::optional<XmlDocument> parse(std::string_view text);

    // The text of the element reached by finding the first element named path[0] anywhere in
    // the document (depth first), then descending into children named path[1], path[2], ...
    std::optional<std::string> text(std::initializer_list<std::string_view> path) const;

  private:
    explicit XmlDocument(std::shared_ptr<void> doc) : doc_(std::move(doc)) {}
    std::shared_ptr<void> doc_;  // xmlDoc*, freed with xmlFreeDoc
};

}  // namespace assetctl::aws
