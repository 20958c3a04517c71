import Synchronization

/// Port blocks for tests that run in parallel: below the ephemeral range (32768+), so outgoing connections
/// never hold them, and never handed out twice in one test process (random bases per suite collided).
enum TestPorts {
    private static let next = Atomic<Int>(20_000 + Int.random(in: 0..<500) * 8)

    /// The first of 8 consecutive ports that no other test of this process uses.
    static func block() -> Int { next.add(8, ordering: .relaxed).oldValue }
}
