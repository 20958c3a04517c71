import TOMLKit

/// Reads typed values out of a parsed TOML document, collecting issues (with the line where the key is
/// written) instead of stopping at the first, and flagging keys nobody asked for (typos).
struct TOMLReader {
    let file: String
    let lines: [Substring]
    private(set) var issues: [ConfigurationIssue] = []
    private var consumed: Set<String> = []

    init(file: String, text: String) {
        self.file = file
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The line where `key` (dotted, like `cluster.port` or `vip.1.address`) is written, best effort.
    func line(of key: String) -> Int? {
        let parts = key.split(separator: ".").map(String.init)
        guard let last = parts.last else { return nil }
        let sections = parts.dropLast().filter { Int($0) == nil }
        let header = sections.joined(separator: ".")
        let index = parts.dropLast().compactMap { Int($0) }.last
        var inSection = header.isEmpty
        var occurrence = 0
        var sectionLine: Int?
        for (number, raw) in lines.enumerated() {
            let text = raw.trimmingWhitespace()
            if text.hasPrefix("[") {
                let name = text.trimmingCharacters(in: "[] ")
                inSection = name == header
                if inSection {
                    occurrence += 1
                    if let index, occurrence != index + 1 { inSection = false }
                    if inSection { sectionLine = number + 1 }
                }
                continue
            }
            if inSection, text.hasPrefix(last), text.dropFirst(last.count).trimmingWhitespace().hasPrefix("=") {
                return number + 1
            }
        }
        return sectionLine
    }

    mutating func issue(_ key: String, _ message: String) {
        issues.append(ConfigurationIssue(file: file, line: line(of: key), key: key, message: message))
    }

    mutating func fileIssue(line: Int?, _ message: String) {
        issues.append(ConfigurationIssue(file: file, line: line, key: "", message: message))
    }

    mutating func value(_ table: TOMLTable?, _ name: String, key: String) -> (any TOMLValueConvertible)? {
        consumed.insert(key)
        return table?[name]
    }

    mutating func string(_ table: TOMLTable?, _ name: String, key: String) -> String? {
        guard let value = value(table, name, key: key) else { return nil }
        guard let text = value.string else {
            issue(key, "must be a string in quotes, not a \(value.type)")
            return nil
        }
        return text
    }

    mutating func int(_ table: TOMLTable?, _ name: String, key: String) -> Int? {
        guard let value = value(table, name, key: key) else { return nil }
        guard let number = value.int else {
            issue(key, "must be a whole number, not a \(value.type)")
            return nil
        }
        return number
    }

    mutating func bool(_ table: TOMLTable?, _ name: String, key: String) -> Bool? {
        guard let value = value(table, name, key: key) else { return nil }
        guard let flag = value.bool else {
            issue(key, "must be true or false, not a \(value.type)")
            return nil
        }
        return flag
    }

    mutating func duration(_ table: TOMLTable?, _ name: String, key: String) -> Duration? {
        guard let value = value(table, name, key: key) else { return nil }
        if let number = value.int { return .milliseconds(number) }
        guard let text = value.string, let parsed = DurationParser.parse(text) else {
            issue(key, "must be a duration such as \"50ms\", \"1s\" or \"1.5s\"")
            return nil
        }
        return parsed
    }

    mutating func strings(_ table: TOMLTable?, _ name: String, key: String) -> [String]? {
        guard let value = value(table, name, key: key) else { return nil }
        guard let array = value.array else {
            issue(key, "must be a list of strings, like [\"a\", \"b\"]")
            return nil
        }
        var result: [String] = []
        for element in array {
            guard let text = element.string else {
                issue(key, "must be a list of strings, like [\"a\", \"b\"]")
                return nil
            }
            result.append(text)
        }
        return result
    }

    mutating func table(_ root: TOMLTable, _ name: String, key: String) -> TOMLTable? {
        guard let value = value(root, name, key: key) else { return nil }
        guard let table = value.table else {
            issue(key, "must be a section [\(key)]")
            return nil
        }
        return table
    }

    mutating func tables(_ root: TOMLTable?, _ name: String, key: String) -> [TOMLTable] {
        guard let value = value(root, name, key: key) else { return [] }
        guard let array = value.array else {
            issue(key, "must be written as [[\(key)]] sections, one per entry")
            return []
        }
        var result: [TOMLTable] = []
        for element in array {
            guard let table = element.table else {
                issue(key, "must be written as [[\(key)]] sections, one per entry")
                return []
            }
            result.append(table)
        }
        return result
    }

    /// Reports every key in `table` (at `prefix`) that nobody read: usually a typo.
    mutating func reportUnknownKeys(_ table: TOMLTable, prefix: String, known: [String]) {
        for name in table.keys.sorted() {
            let key = prefix.isEmpty ? name : "\(prefix).\(name)"
            if consumed.contains(key) { continue }
            let suggestion = known.min { editDistance($0, name) < editDistance($1, name) }
            if let suggestion, editDistance(suggestion, name) <= 3 {
                issue(key, "unknown key; did you mean \(prefix.isEmpty ? suggestion : "\(prefix).\(suggestion)")?")
            } else {
                let list = known.joined(separator: ", ")
                issue(key, "unknown key; \(prefix.isEmpty ? "sections" : "keys in [\(prefix)]") are: \(list)")
            }
        }
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        return String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}
