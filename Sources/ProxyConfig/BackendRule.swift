/// `use_backend NAME if|unless CONDITION`.
///
/// The condition is a disjunction of terms (`or` / `||`); each term is a conjunction of named ACLs, each
/// possibly negated with `!`. `unless` negates the whole condition, as HAProxy does: `unless A B` is
/// `!(A && B)`, not `!A && !B`.
public struct BackendRule: Hashable, Sendable {
    /// One named ACL in a condition.
    public struct Condition: Hashable, Sendable {
        public var acl: String
        public var negated: Bool

        public init(acl: String, negated: Bool) {
            self.acl = acl
            self.negated = negated
        }
    }

    public var backend: String
    /// Terms joined by `or`; the conditions of a term are joined by `and`.
    public var terms: [[Condition]]
    /// `unless`: the rule applies when the condition does not hold.
    public var negated: Bool
    public var line: Int

    public init(backend: String, terms: [[Condition]], negated: Bool, line: Int) {
        self.backend = backend
        self.terms = terms
        self.negated = negated
        self.line = line
    }

    /// Every ACL the rule names.
    public var aclNames: [String] { terms.flatMap { $0.map(\.acl) } }

    /// Whether the rule applies, given whether each named ACL matches.
    public func applies(_ matches: (String) -> Bool) -> Bool {
        let holds = terms.contains { term in term.allSatisfy { matches($0.acl) != $0.negated } }
        return holds != negated
    }
}
