/// Checks a TOML text for what the TOML parser underneath (toml++, through TOMLKit) does not survive: a table
/// header whose name starts with anything but a bare-key character or a quote (`[é]`, `[=`, `[.a]`, found by
/// fuzzing) makes it abort on an internal assertion. TOML allows non-ASCII text only in strings and comments
/// anyway, so any other non-ASCII character is refused too. Both come back with their line and column before
/// the parser sees the text.
public enum TOMLPrecheck {
    /// The first table header whose name starts with a character toml++ cannot take: 1-based line and column.
    public static func firstBadTableHeader(in text: String) -> (line: Int, column: Int, character: Character)? {
        var depth = 0
        var inValue = false
        for (number, line) in logicalLines(text) {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if depth == 0 && !inValue, trimmed.first == "[" {
                var rest = trimmed.dropFirst()
                if rest.first == "[" { rest = rest.dropFirst() }
                rest = rest.drop(while: { $0 == " " || $0 == "\t" })
                // The line may also end right there (`[` alone): reported as "\n".
                let first = rest.first ?? "\n"
                if !(first.isASCII && (first.isLetter || first.isNumber)) && !"_-\"']".contains(first) {
                    return (number, line.count - rest.count + 1, first)
                }
                continue
            }
            // Brackets and braces of values (arrays, inline tables) can span lines: a line inside one is no header.
            for character in stripped(line) {
                switch character {
                case "=" where depth == 0: inValue = true
                case "[", "{": if inValue { depth += 1 }
                case "]", "}": depth = max(0, depth - 1)
                default: break
                }
            }
            if depth == 0 { inValue = false }
        }
        return nil
    }

    /// Lines with their 1-based numbers.
    private static func logicalLines(_ text: String) -> [(Int, Substring)] {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { ($0.offset + 1, $0.element) }
    }

    /// A line without its comment and the contents of single-line strings (enough to count brackets).
    private static func stripped(_ line: Substring) -> String {
        var result = ""
        var quote: Character?
        var escaped = false
        for character in line {
            if let open = quote {
                if escaped {
                    escaped = false
                } else if character == "\\" && open == "\"" {
                    escaped = true
                } else if character == open {
                    quote = nil
                }
                continue
            }
            if character == "#" { break }
            if character == "\"" || character == "'" {
                quote = character
                continue
            }
            result.append(character)
        }
        return result
    }

    /// The first non-ASCII character outside strings and comments: 1-based line and column.
    public static func firstNonASCII(in text: String) -> (line: Int, column: Int, character: Character)? {
        enum State { case plain, comment, basic, literal, multiBasic, multiLiteral }
        var state = State.plain
        var line = 1
        var column = 0
        var escaped = false
        let characters = Array(text.unicodeScalars)
        var index = 0
        func next(_ offset: Int) -> Unicode.Scalar? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        while index < characters.count {
            let scalar = characters[index]
            column += 1
            if scalar == "\n" {
                line += 1
                column = 0
                if state == .comment || state == .basic || state == .literal { state = .plain }
                index += 1
                continue
            }
            switch state {
            case .plain:
                if !scalar.isASCII { return (line, column, Character(scalar)) }
                if scalar == "#" {
                    state = .comment
                } else if scalar == "\"" {
                    if next(1) == "\"" && next(2) == "\"" {
                        state = .multiBasic
                        index += 2
                        column += 2
                    } else {
                        state = .basic
                    }
                } else if scalar == "'" {
                    if next(1) == "'" && next(2) == "'" {
                        state = .multiLiteral
                        index += 2
                        column += 2
                    } else {
                        state = .literal
                    }
                }
            case .comment:
                break
            case .basic, .multiBasic:
                if escaped {
                    escaped = false
                } else if scalar == "\\" {
                    escaped = true
                } else if scalar == "\"" {
                    if state == .basic {
                        state = .plain
                    } else if next(1) == "\"" && next(2) == "\"" {
                        state = .plain
                        index += 2
                        column += 2
                    }
                }
            case .literal:
                if scalar == "'" { state = .plain }
            case .multiLiteral:
                if scalar == "'" && next(1) == "'" && next(2) == "'" {
                    state = .plain
                    index += 2
                    column += 2
                }
            }
            index += 1
        }
        return nil
    }
}
