/// Reads one `acl NAME CRITERION [FLAGS] [VALUE…]` line, flags as HAProxy reads them: `-i` (ignore case),
/// `-m METHOD`, `-f FILE` (patterns from a file, one a line), `-n` (no name resolution: the engine never
/// resolves), `--` (end of flags). Other flags are errors, never values.
enum ACLParser {
    static func parse(_ words: [String], _ number: Int, _ state: inout ParserState) -> ACL? {
        guard words.count >= 3, let criterion = ACL.Criterion(rawValue: words[2]) else {
            state.error(
                number,
                "acl",
                words.count < 3
                    ? "needs 'acl NAME CRITERION [FLAGS] VALUE…'"
                    : "criterion '\(words[2])' is not supported yet (supported: path_beg, path, hdr(host), src)"
            )
            return nil
        }
        let keyword = "acl \(words[1])"
        var ignoreCase = false
        var match: ACL.MatchMethod?
        var values: [String] = []
        var index = 3
        flags: while index < words.count, words[index].hasPrefix("-") {
            let flag = words[index]
            switch flag {
            case "--":
                index += 1
                break flags
            case "-i":
                ignoreCase = true
            case "-n":
                break
            case "-m", "-f":
                guard index + 1 < words.count else {
                    state.error(number, keyword, "'\(flag)' needs a value")
                    return nil
                }
                let value = words[index + 1]
                index += 1
                if flag == "-m" {
                    guard let method = ACL.MatchMethod(rawValue: value) else {
                        state.error(
                            number,
                            keyword,
                            value == "reg"
                                ? "'-m reg' (regular expressions) is not supported yet"
                                : "'-m \(value)' is not a match method (supported: \(ACL.MatchMethod.allCases.map(\.rawValue).joined(separator: ", ")))"
                        )
                        return nil
                    }
                    match = method
                } else {
                    guard let patterns = patterns(file: value, number, keyword, &state) else { return nil }
                    values += patterns
                }
            default:
                state.error(
                    number,
                    keyword,
                    "flag '\(flag)' is not supported (supported: -i, -m METHOD, -f FILE, -n, --); write '-- \(flag)' for a value starting with '-'"
                )
                return nil
            }
            index += 1
        }
        let fromFiles = values.count
        values = Array(words[index...]) + values
        let method = match ?? criterion.defaultMatch
        if criterion == .source {
            guard method == .ip else {
                state.error(number, keyword, "src is compared as an address; '-m \(method.rawValue)' does not apply")
                return nil
            }
            for value in values where AddressParser.network(value) == nil {
                state.error(number, keyword, "'\(value)' is not an address or ADDR/PREFIX")
                return nil
            }
        } else if method == .ip {
            state.error(number, keyword, "'-m ip' applies to src only")
            return nil
        }
        if method == .length {
            for value in values where Int(value).map({ $0 < 0 }) ?? true {
                state.error(number, keyword, "'-m len' needs lengths, not '\(value)'")
                return nil
            }
        }
        if method == .found {
            guard values.isEmpty else {
                state.error(number, keyword, "'-m found' takes no value")
                return nil
            }
        } else if values.isEmpty && fromFiles == 0 && !words.contains("-f") {
            state.error(number, keyword, "needs at least one value (or '-f FILE')")
            return nil
        }
        return ACL(name: words[1], criterion: criterion, values: values, ignoreCase: ignoreCase, match: method)
    }

    /// A pattern file as HAProxy reads it: one pattern a line; leading blanks dropped; empty lines and lines
    /// starting with '#' skipped.
    private static func patterns(
        file: String,
        _ number: Int,
        _ keyword: String,
        _ state: inout ParserState
    ) -> [String]? {
        guard let bytes = state.readFile(file) else {
            state.error(
                number,
                keyword,
                "cannot read the pattern file '\(file)' (-f): check the path and its permissions"
            )
            return nil
        }
        var patterns: [String] = []
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            var text = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            while let last = text.last, last == UInt8(ascii: "\r") { text = text.dropLast() }
            guard let first = text.first, first != UInt8(ascii: "#") else { continue }
            patterns.append(String(decoding: text, as: UTF8.self))
        }
        return patterns
    }
}
