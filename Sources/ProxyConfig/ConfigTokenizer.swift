/// Splits a configuration line into words as HAProxy 2.6 does.
///
/// - White space separates words; `#` outside quotes starts a comment; a carriage return ends the line
///   (HAProxy reads CRLF files, and ignores what follows a lone CR).
/// - Double and single quotes group. Inside single quotes nothing is special.
/// - Outside single quotes a backslash escapes: `\\`, `\ `, `\#`, `\'`, `\"`, `\$` give the character,
///   `\r`, `\n`, `\t` the control character, `\xHH` the byte; any other `\c` stays as written.
/// - Inside double quotes `$NAME` and `${NAME}` are environment variables in HAProxy. The engine does not
///   expand them: such a word is reported (``Failure/environmentVariable(_:)``), never read as text.
enum ConfigTokenizer {
    /// Why a line cannot be split.
    enum Failure: Error, Equatable {
        /// A quote is not closed, or the line ends with a backslash.
        case unterminated
        /// `"…$NAME…"`: HAProxy would substitute an environment variable.
        case environmentVariable(String)
    }

    static func words(_ line: some Collection<UInt8>) -> Result<[String], Failure> {
        var words: [String] = []
        var current: [UInt8] = []
        var inWord = false
        var quote: UInt8?
        let bytes = Array(line)
        var index = 0
        func finishWord() {
            if inWord { words.append(String(decoding: current, as: UTF8.self)) }
            current.removeAll(keepingCapacity: true)
            inWord = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == ascii("\r") { break }
            if quote == ascii("'") {
                if byte == ascii("'") { quote = nil } else { current.append(byte) }
                continue
            }
            if byte == ascii("\\") {
                guard index < bytes.count, bytes[index] != ascii("\r") else { return .failure(.unterminated) }
                let next = bytes[index]
                index += 1
                inWord = true
                switch next {
                case ascii("\\"), ascii(" "), ascii("#"), ascii("'"), ascii("\""), ascii("$"): current.append(next)
                case ascii("r"): current.append(ascii("\r"))
                case ascii("n"): current.append(ascii("\n"))
                case ascii("t"): current.append(ascii("\t"))
                case ascii("x"):
                    if index + 1 < bytes.count, let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1])
                    {
                        current.append(high << 4 | low)
                        index += 2
                    } else {
                        current.append(contentsOf: [ascii("\\"), next])
                    }
                default: current.append(contentsOf: [ascii("\\"), next])
                }
                continue
            }
            if quote == ascii("\"") {
                if byte == ascii("\"") {
                    quote = nil
                } else if byte == ascii("$"), index < bytes.count, isVariableStart(bytes[index]) {
                    var name = bytes[index...].prefix { $0 != ascii("}") && ($0 == ascii("{") || isNameByte($0)) }
                    if name.first == ascii("{") { name = name.dropFirst() }
                    return .failure(.environmentVariable(String(decoding: name, as: UTF8.self)))
                } else {
                    current.append(byte)
                }
                continue
            }
            switch byte {
            case ascii("\""), ascii("'"):
                quote = byte
                inWord = true
            case ascii("#"):
                finishWord()
                return .success(words)
            case ascii(" "), ascii("\t"):
                finishWord()
            default:
                current.append(byte)
                inWord = true
            }
        }
        if quote != nil { return .failure(.unterminated) }
        finishWord()
        return .success(words)
    }

    private static func ascii(_ character: Unicode.Scalar) -> UInt8 { UInt8(character.value) }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case ascii("0")...ascii("9"): byte - ascii("0")
        case ascii("a")...ascii("f"): byte - ascii("a") + 10
        case ascii("A")...ascii("F"): byte - ascii("A") + 10
        default: nil
        }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        byte == ascii("_") || (ascii("a")...ascii("z")).contains(byte) || (ascii("A")...ascii("Z")).contains(byte)
            || (ascii("0")...ascii("9")).contains(byte)
    }

    private static func isVariableStart(_ byte: UInt8) -> Bool {
        byte == ascii("{") || byte == ascii("_") || (ascii("a")...ascii("z")).contains(byte)
            || (ascii("A")...ascii("Z")).contains(byte)
    }
}
