/// Splits configuration lines into words as HAProxy does: white space separates, `#` starts a comment,
/// double and single quotes group, a backslash escapes the next character.
enum ConfigTokenizer {
    static func words(_ line: Substring) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
                inWord = true
                continue
            }
            if character == "\\" {
                escaped = true
                continue
            }
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
                continue
            }
            if character == "\"" || character == "'" {
                quote = character
                inWord = true
                continue
            }
            if character == "#" { break }
            if character == " " || character == "\t" || character == "\r" {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
                continue
            }
            current.append(character)
            inWord = true
        }
        if quote != nil || escaped { return nil }
        if inWord { words.append(current) }
        return words
    }
}
