import Yams

/// The resolver the lab file is composed with: Yams' default one (YAML 1.1's types) with one
/// rule in front that types a plain word `str` at the cost of a single match. Yams tries its
/// rules one after another with `NSRegularExpression`, seven failed matches for every key and
/// every name-like value — most of composing a 1,000-pod lab file. The rule matches only what
/// every default rule rejects: a letter first (no number, float, timestamp, merge or value
/// starts with one), and none of the words bool and null spell; so every scalar gets exactly
/// the tag the default resolver gives it (tested on a corpus).
enum ScalarResolver {
    static let word = #"^(?!(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$)[A-Za-z][-A-Za-z0-9_./]*$"#

    static let resolver: Resolver = (try? Resolver.Rule(.str, word)).map { rule in
        Resolver.default.rules.reduce(Resolver.basic.appending(rule)) { $0.appending($1) }
    } ?? .default
}
