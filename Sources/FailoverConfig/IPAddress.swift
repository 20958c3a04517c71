#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, parsed and printed in the usual text forms.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4([UInt8])
    case v6([UInt8])

    /// Parses `192.0.2.1` or `2001:db8::1`; nil for anything else.
    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(withUnsafeBytes(of: &v4) { Array($0) })
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
        } else {
            return nil
        }
    }

    /// Whether this is an IPv6 address.
    public var isIPv6: Bool {
        if case .v6 = self { return true }
        return false
    }

    /// The longest prefix length for the family.
    public var maximumPrefixLength: Int { isIPv6 ? 128 : 32 }

    /// The raw bytes (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let bytes), .v6(let bytes): bytes
        }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        var raw = bytes
        let family = isIPv6 ? AF_INET6 : AF_INET
        let ok = raw.withUnsafeMutableBytes { pointer in
            inet_ntop(family, pointer.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address with an optional port, written `ADDR`, `ADDR:PORT` or `[IPV6]:PORT`.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// The address.
    public var address: IPAddress
    /// The port, when one was given.
    public var port: UInt16?

    /// Creates an endpoint.
    public init(address: IPAddress, port: UInt16?) {
        self.address = address
        self.port = port
    }

    /// Parses the text forms; nil when it is none of them.
    public init?(_ text: String) {
        if let address = IPAddress(text) {
            self.init(address: address, port: nil)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            return nil
        }
        guard let address = IPAddress(String(host)), let port = UInt16(portText), port > 0 else { return nil }
        self.init(address: address, port: port)
    }

    public var description: String {
        guard let port else { return address.description }
        return address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
