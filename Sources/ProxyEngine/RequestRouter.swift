import NIOCore
import ProxyConfig

#if canImport(Glibc)
import Glibc
#endif

/// What the routing rules look at in a request (HTTP) or a connection (TCP: only the source).
struct RequestFacts {
    /// The path, without the query (HTTP only).
    var path: Substring?
    /// The Host header as sent (HTTP only).
    var host: String?
    /// The client's address: 4 bytes (IPv4, also for IPv4-mapped IPv6) or 16 bytes.
    var source: [UInt8]?
}

/// Chooses a frontend's backend: the first `use_backend` rule whose condition holds, else `default_backend`.
/// Several `acl` lines with the same name match when any of them does (as in HAProxy).
struct RequestRouter: Sendable {
    private struct Matcher: Sendable {
        let criterion: ACL.Criterion
        let match: ACL.MatchMethod
        /// The patterns' bytes, lower-cased for `-i`.
        let values: [[UInt8]]
        let ignoreCase: Bool
        let networks: [(bytes: [UInt8], prefix: Int)]
    }

    private let rules: [BackendRule]
    private let matchers: [String: [Matcher]]
    let defaultBackend: String?

    init(frontend: Frontend) {
        rules = frontend.rules
        defaultBackend = frontend.defaultBackend
        var matchers: [String: [Matcher]] = [:]
        for acl in frontend.acls {
            let networks: [(bytes: [UInt8], prefix: Int)] =
                acl.criterion == .source ? acl.values.compactMap(Self.network) : []
            let values = acl.values.map { acl.ignoreCase ? Self.asciiLowercased($0.utf8) : Array($0.utf8) }
            matchers[acl.name, default: []].append(
                Matcher(
                    criterion: acl.criterion,
                    match: acl.match,
                    values: values,
                    ignoreCase: acl.ignoreCase,
                    networks: networks
                )
            )
        }
        self.matchers = matchers
        readsSource = matchers.values.joined().contains { $0.criterion == .source }
        readsRequest = matchers.values.joined().contains { $0.criterion != .source }
    }

    /// Whether any rule looks at the client's address.
    let readsSource: Bool
    /// Whether any rule looks at a request (else the path and Host need not be read).
    let readsRequest: Bool

    /// The backend for these facts, or nil when no rule matches and there is no default.
    func backend(for facts: RequestFacts) -> String? {
        for rule in rules where rule.applies({ matches($0, facts) }) {
            return rule.backend
        }
        return defaultBackend
    }

    private func matches(_ name: String, _ facts: RequestFacts) -> Bool {
        (matchers[name] ?? []).contains { matcher in
            let sample: Substring?
            switch matcher.criterion {
            case .pathBegins, .path: sample = facts.path
            case .host: sample = facts.host.map { $0[...] }
            case .source:
                guard let source = facts.source else { return false }
                return matcher.networks.contains { Self.contains($0, source) }
            }
            guard let sample else { return false }
            if matcher.match == .found { return true }
            let subject = matcher.ignoreCase ? Self.asciiLowercased(sample.utf8) : Array(sample.utf8)
            return matcher.values.contains { Self.matches(subject, $0, matcher.match) }
        }
    }

    /// Bytes with ASCII letters lower-cased (HAProxy's `-i` compares with `tolower`, ASCII only).
    static func asciiLowercased(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        bytes.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }
    }

    /// HAProxy's pattern matching of one sample against one pattern.
    static func matches(_ subject: [UInt8], _ pattern: [UInt8], _ method: ACL.MatchMethod) -> Bool {
        switch method {
        case .exact: return subject == pattern
        case .beginning: return subject.starts(with: pattern)
        case .end: return subject.count >= pattern.count && subject.suffix(pattern.count).elementsEqual(pattern)
        case .substring: return pattern.isEmpty || subject.firstRange(of: pattern) != nil
        case .directory: return delimitedMatch(subject, pattern, UInt8(ascii: "/"))
        case .domain: return delimitedMatch(subject, pattern, UInt8(ascii: "."))
        case .length: return String(decoding: pattern, as: UTF8.self) == String(subject.count)
        case .found: return true
        case .ip: return false
        }
    }

    /// `-m dir` / `-m dom`: the pattern (without its own leading and trailing delimiters) occurs in the sample
    /// with a delimiter or an end on each side.
    private static func delimitedMatch(_ subject: [UInt8], _ pattern: [UInt8], _ delimiter: UInt8) -> Bool {
        var needle = pattern[...]
        while needle.first == delimiter { needle = needle.dropFirst() }
        while needle.last == delimiter { needle = needle.dropLast() }
        guard !needle.isEmpty, subject.count >= needle.count else { return false }
        var start = 0
        while start + needle.count <= subject.count {
            let end = start + needle.count
            if subject[start..<end].elementsEqual(needle)
                && (start == 0 || subject[start - 1] == delimiter)
                && (end == subject.count || subject[end] == delimiter)
            {
                return true
            }
            start += 1
        }
        return false
    }

    /// `ADDR` or `ADDR/PREFIX` as bytes and a prefix length.
    static func network(_ text: String) -> (bytes: [UInt8], prefix: Int)? {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = try? SocketAddress(ipAddress: String(parts[0]), port: 0), let bytes = rawBytes(address)
        else { return nil }
        let prefix = parts.count == 2 ? Int(parts[1]) ?? bytes.count * 8 : bytes.count * 8
        return (bytes, prefix)
    }

    static func contains(_ network: (bytes: [UInt8], prefix: Int), _ address: [UInt8]) -> Bool {
        guard network.bytes.count == address.count else { return false }
        var remaining = network.prefix
        for (a, b) in zip(network.bytes, address) where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The address bytes of a socket address; an IPv4-mapped IPv6 address gives its 4 IPv4 bytes.
    static func rawBytes(_ address: SocketAddress?) -> [UInt8]? {
        guard let text = address?.ipAddress else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        if text.contains(":") {
            guard inet_pton(AF_INET6, text, &bytes) == 1 else { return nil }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return Array(bytes[12..<16])
            }
            return bytes
        }
        guard inet_pton(AF_INET, text, &bytes) == 1 else { return nil }
        return Array(bytes[0..<4])
    }
}
