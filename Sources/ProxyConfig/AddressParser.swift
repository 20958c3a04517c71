/// Address literals as the configuration writes them. Names are not resolved: write addresses.
enum AddressParser {
    /// `ADDR:PORT`, `:PORT` (every IPv4 address), `*:PORT`, `[V6]:PORT`, `:::PORT` (every address), `ipv6@…`.
    static func bind(_ text: String) -> BindAddress? {
        var text = Substring(text)
        if text.hasPrefix("ipv4@") { text = text.dropFirst(5) }
        if text.hasPrefix("ipv6@") { text = text.dropFirst(5) }
        guard let (host, port) = split(text) else { return nil }
        if host.isEmpty || host == "*" { return BindAddress(host: "0.0.0.0", port: port) }
        guard isIPv4(host) || isIPv6(host) else { return nil }
        return BindAddress(host: host, port: port)
    }

    /// A server's `ADDR:PORT` (an address is required).
    static func server(_ text: String) -> (String, Int)? {
        guard let (host, port) = split(Substring(text)), !host.isEmpty, isIPv4(host) || isIPv6(host) else { return nil }
        return (host, port)
    }

    /// `ADDR` or `ADDR/PREFIX`.
    static func network(_ text: String) -> (String, Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let host = String(parts[0])
        let maximum = isIPv4(host) ? 32 : isIPv6(host) ? 128 : -1
        guard maximum > 0 else { return nil }
        guard parts.count == 2 else { return (host, maximum) }
        guard let prefix = Int(parts[1]), (0...maximum).contains(prefix) else { return nil }
        return (host, prefix)
    }

    private static func split(_ text: Substring) -> (String, Int)? {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host == "::" || host == ":" { host = host == "::" ? "::" : "" }
        } else {
            return nil
        }
        guard let port = Int(portText), (1...65_535).contains(port) else { return nil }
        return (String(host), port)
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                // ASCII digits only: `isNumber` also takes other scripts' digits, which Int() refuses (found
                // by scripts/fuzz.sh proxyconfig).
                !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber }
                    && (Int(part) ?? 256) <= 255
            }
    }

    static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":"), text.count <= 45 else { return false }
        let groups = text.components(separatedByColon: ())
        guard groups.count >= 3 || text == "::" else { return false }
        let doubleColons = text.ranges(of: "::").count
        guard doubleColons <= 1 else { return false }
        for (index, group) in groups.enumerated() {
            if group.isEmpty { continue }
            if index == groups.count - 1 && group.contains(".") {
                guard isIPv4(String(group)) else { return false }
                continue
            }
            guard group.count <= 4, group.allSatisfy(\.isHexDigit) else { return false }
        }
        return doubleColons == 1 || groups.count == 8 || (groups.count == 7 && groups.last!.contains("."))
    }
}

extension String {
    fileprivate func components(separatedByColon: Void) -> [Substring] {
        split(separator: ":", omittingEmptySubsequences: false)
    }
}
