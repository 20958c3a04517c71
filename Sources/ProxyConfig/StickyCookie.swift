/// `cookie NAME insert indirect nocache`.
public struct StickyCookie: Hashable, Sendable {
    public var name: String
    public var insert: Bool
    public var indirect: Bool
    public var nocache: Bool

    public init(name: String, insert: Bool, indirect: Bool, nocache: Bool) {
        self.name = name
        self.insert = insert
        self.indirect = indirect
        self.nocache = nocache
    }
}
