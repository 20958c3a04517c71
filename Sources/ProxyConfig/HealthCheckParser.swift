/// Reads `option httpchk`, `http-check send` and `http-check expect`.
enum HealthCheckParser {
    /// `option httpchk [[METHOD] URI [VERSION]]`; the version may carry header lines after `\r\n`, as HAProxy
    /// allows (`HTTP/1.1\r\nHost:\ www.example.com`).
    static func option(_ arguments: [String], _ number: Int, _ state: inout ParserState) -> HealthCheck? {
        var check = HealthCheck()
        switch arguments.count {
        case 0: break
        case 1: check.uri = arguments[0]
        case 2, 3:
            check.method = arguments[0]
            check.uri = arguments[1]
            if arguments.count == 3 {
                var lines = arguments[2].split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
                check.version = lines.removeFirst()
                for line in lines where !line.isEmpty {
                    guard let header = header(line) else {
                        state.error(number, "option httpchk", "'\(line)' is not a header line 'Name: value'")
                        return nil
                    }
                    check.headers.append(header)
                }
            }
        default:
            state.error(number, "option httpchk", "takes [METHOD] URI [VERSION], like 'option httpchk GET /health'")
            return nil
        }
        return validated(check, number, "option httpchk", &state)
    }

    /// `http-check send [meth M] [uri U] [ver V] [hdr NAME VALUE]…`: what it sets, over `option httpchk`.
    static func send(_ arguments: [String], _ number: Int, _ state: inout ParserState) -> HealthCheck? {
        // Fields not written stay empty and keep the values of `option httpchk` (see `merged`).
        var check = HealthCheck(method: "", uri: "", version: "")
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            let needed = word == "hdr" ? 2 : 1
            guard ["meth", "uri", "ver", "hdr"].contains(word) else {
                state.error(
                    number,
                    "http-check send",
                    "'\(word)' is not supported (supported: meth METHOD, uri URI, ver VERSION, hdr NAME VALUE)"
                )
                return nil
            }
            guard index + needed < arguments.count else {
                state.error(
                    number,
                    "http-check send",
                    "'\(word)' needs \(needed == 2 ? "a name and a value" : "a value")"
                )
                return nil
            }
            let value = arguments[index + 1]
            switch word {
            case "meth": check.method = value
            case "uri": check.uri = value
            case "ver": check.version = value
            default:
                guard !value.isEmpty, value.utf8.allSatisfy(isTokenByte) else {
                    state.error(number, "http-check send", "'\(value)' is not a header name")
                    return nil
                }
                check.headers.append(HealthCheck.Header(name: value, value: arguments[index + 2]))
            }
            index += needed + 1
        }
        var probe = check
        if probe.method.isEmpty { probe.method = "GET" }
        if probe.uri.isEmpty { probe.uri = "/" }
        if probe.version.isEmpty { probe.version = "HTTP/1.0" }
        return validated(probe, number, "http-check send", &state) != nil ? check : nil
    }

    /// `option httpchk` with `http-check send` applied: what send sets wins, its headers come after.
    static func merged(_ base: HealthCheck, _ send: HealthCheck) -> HealthCheck {
        var check = base
        if !send.method.isEmpty { check.method = send.method }
        if !send.uri.isEmpty { check.uri = send.uri }
        if !send.version.isEmpty { check.version = send.version }
        check.headers += send.headers
        return check
    }

    /// `http-check expect status CODES` (`200`, `200-399`, `200,301-302`).
    static func expect(_ arguments: [String], _ number: Int, _ state: inout ParserState) -> [ClosedRange<Int>]? {
        guard arguments.count == 2, arguments[0] == "status" else {
            state.error(
                number,
                "http-check expect",
                "only 'http-check expect status CODES' is supported (like 200 or 200-399); string, regex and header matches are not built yet"
            )
            return nil
        }
        var ranges: [ClosedRange<Int>] = []
        for part in arguments[1].split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds.last!),
                (100...599).contains(low), (low...599).contains(high)
            else {
                state.error(number, "http-check expect", "'\(part)' is not a status or a range of statuses (100-599)")
                return nil
            }
            ranges.append(low...high)
        }
        return ranges
    }

    private static func validated(
        _ check: HealthCheck,
        _ number: Int,
        _ keyword: String,
        _ state: inout ParserState
    ) -> HealthCheck? {
        guard check.method.utf8.allSatisfy(isTokenByte) else {
            state.error(number, keyword, "'\(check.method)' is not a method")
            return nil
        }
        guard check.uri.hasPrefix("/") || check.uri == "*", !check.uri.utf8.contains(where: { $0 <= 32 || $0 == 127 })
        else {
            state.error(number, keyword, "the URI must start with '/' and hold no space, like 'GET /health'")
            return nil
        }
        guard check.version == "HTTP/1.0" || check.version == "HTTP/1.1" else {
            state.error(number, keyword, "the version must be HTTP/1.0 or HTTP/1.1, not '\(check.version)'")
            return nil
        }
        for header in check.headers where header.value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) {
            state.error(number, keyword, "header '\(header.name)' has a line break in its value")
            return nil
        }
        return check
    }

    private static func header(_ line: String) -> HealthCheck.Header? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let name = String(line[..<colon])
        guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else { return nil }
        let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
        return HealthCheck.Header(name: name, value: String(value))
    }

    /// An RFC 9110 token character (header names, methods).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
