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

/// Chooses a frontend's backend: the first `use_backend` rule whose ACLs all match, else `default_backend`.
/// Several `acl` lines with the same name match when any of them does (as in HAProxy).
struct RequestRouter: Sendable {
    private struct Matcher: Sendable {
        let criterion: ACL.Criterion
        let values: [String]
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
            let values = acl.ignoreCase ? acl.values.map { $0.lowercased() } : acl.values
            matchers[acl.name, default: []].append(
                Matcher(criterion: acl.criterion, values: values, ignoreCase: acl.ignoreCase, networks: networks)
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
        for rule in rules
        where rule.conditions.allSatisfy({ condition in
            matches(condition.acl, facts) != condition.negated
        }) {
            return rule.backend
        }
        return defaultBackend
    }

    private func matches(_ name: String, _ facts: RequestFacts) -> Bool {
        (matchers[name] ?? []).contains { matcher in
            switch matcher.criterion {
            case .pathBegins:
                guard let path = facts.path else { return false }
                let subject = matcher.ignoreCase ? path.lowercased()[...] : path
                return matcher.values.contains { subject.hasPrefix($0) }
            case .path:
                guard let path = facts.path else { return false }
                let subject = matcher.ignoreCase ? path.lowercased()[...] : path
                return matcher.values.contains { subject == $0 }
            case .host:
                guard let host = facts.host else { return false }
                let subject = matcher.ignoreCase ? host.lowercased() : host
                return matcher.values.contains(subject)
            case .source:
                guard let source = facts.source else { return false }
                return matcher.networks.contains { Self.contains($0, source) }
            }
        }
    }

    /// `ADDR` or `ADDR/PREFIX` as bytes and a prefix length.
    private static func network(_ text: String) -> (bytes: [UInt8], prefix: Int)? {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = try? SocketAddress(ipAddress: String(parts[0]), port: 0), let bytes = rawBytes(address)
        else { return nil }
        let prefix = parts.count == 2 ? Int(parts[1]) ?? bytes.count * 8 : bytes.count * 8
        return (bytes, prefix)
    }

    private static func contains(_ network: (bytes: [UInt8], prefix: Int), _ address: [UInt8]) -> Bool {
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
