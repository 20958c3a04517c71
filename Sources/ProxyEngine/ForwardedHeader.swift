import ProxyConfig

/// `option forwardfor` for one frontend and backend, resolved as HAProxy 2.6 does (http_ana.c): the
/// header is added when either section has the option; its name is the backend's when the backend has the
/// option, else the frontend's; `if-none` holds only when every section with the option says it; a client
/// in either section's `except` network gets no header.
struct ForwardedHeader: Sendable {
    /// The header's name in lower case, as HAProxy writes header names.
    let name: String
    private let lowercasedName: [UInt8]
    private let ifNone: Bool
    private let exceptions: [(bytes: [UInt8], prefix: Int)]

    init?(frontend: ForwardFor?, backend: ForwardFor?) {
        guard let chosen = backend ?? frontend else { return nil }
        lowercasedName = RequestRouter.asciiLowercased(chosen.header.utf8)
        name = String(decoding: lowercasedName, as: UTF8.self)
        ifNone = [frontend, backend].allSatisfy { $0?.ifNone ?? true }
        exceptions = [frontend, backend].compactMap { $0?.except }.compactMap(RequestRouter.network)
    }

    /// Whether the request from `source` (the client's address bytes) gets the header.
    func applies(to head: HTTPHead, source: [UInt8]?) -> Bool {
        if let source, exceptions.contains(where: { RequestRouter.contains($0, source) }) { return false }
        return !(ifNone && head.hasField(named: lowercasedName))
    }
}
