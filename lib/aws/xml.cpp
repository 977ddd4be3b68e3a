#include "aws/xml.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits>

namespace assetctl::aws {
namespace {

bool named(const xmlNode* node, std::string_view name) {
    return node->type == XML_ELEMENT_NODE &&
           std::string_view(reinterpret_cast<const char*>(node->name)) == name;
}

const xmlNode* find_descendant(const xmlNode* node, std::string_view name) {
    for (const xmlNode* child = node; child != nullptr; child = child->next) {
        if (named(child, name)) {
            return child;
        }
        if (const xmlNode* found = find_descendant(child->children, name)) {
            return found;
        }
    }
    return nullptr;
}

const xmlNode* find_child(const xmlNode* node, std::string_view name) {
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
        if (named(child, name)) {
            return child;
        }
    }
    return nullptr;
}

}  // namespace

std::optional<XmlDocument> XmlDocument::parse(std::string_view text) {
    if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        return std::nullopt;
    }
    xmlDoc* doc = xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == nullptr) {
        return std::nullopt;
    }
    return XmlDocument(
        std::shared_ptr<void>(doc, [](void* d) { xmlFreeDoc(static_cast<xmlDoc*>(d)); }));
}

std::optional<std::string> XmlDocument::text(std::initializer_list<std::string_view> path) const {
    const auto* doc = static_cast<const xmlDoc*>(doc_.get());
    if (path.size() == 0) {
        return std::nullopt;
    }
    auto it = path.begin();
    const xmlNode* node = find_descendant(xmlDocGetRootElement(doc), *it);
    for (++it; node != nullptr && it != path.end(); ++it) {
        node = find_child(node, *it);
    }
    if (node == nullptr) {
        return std::nullopt;
    }
    xmlChar* content = xmlNodeGetContent(node);
    std::string out = content != nullptr ? reinterpret_cast<const char*>(content) : "";
    xmlFree(content);
    return out;
}

}  // namespace assetctl::aws
