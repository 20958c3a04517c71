import Synchronization

/// Whether this node holds the VIP right now, as far as the VIP worker knows: set after a successful claim,
/// cleared before a release starts. The announcer reads it before every packet, so a burst that began with a
/// claim stops as soon as the VIP is being let go (a late gratuitous ARP would pull clients back).
final class VIPPresence: Sendable {
    private let held = Atomic<Bool>(false)

    var isHeld: Bool { held.load(ordering: .acquiring) }

    func set(_ value: Bool) { held.store(value, ordering: .releasing) }
}
