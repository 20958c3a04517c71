import Testing

@testable import FailoverAgent

@Suite("Link intake: the source check before the budget, one budget per link")
struct LinkIntakeTests {
    @Test("datagrams from a third address are refused without charging the link's budget")
    func thirdAddressIsFree() {
        let intake = LinkIntake(link: 0, peer: "192.0.2.12", budget: DatagramBudget(limit: 4))
        for _ in 0..<10_000 { #expect(intake.admit(from: "192.0.2.50") == .unexpectedSource) }
        #expect(intake.admit(from: nil) == .unexpectedSource)
        #expect(intake.unexpectedSource == 10_001)
        // The budget is untouched: the peer's datagrams all get through.
        for _ in 0..<4 { #expect(intake.admit(from: "192.0.2.12") == .admit) }
        #expect(intake.admit(from: "192.0.2.12") == .backlog)
        #expect(intake.budget.dropped == 1)
    }

    @Test("a full budget on one link leaves the other link's datagrams alone")
    func linksAreIndependent() {
        let flooded = LinkIntake(link: 0, peer: "192.0.2.12", budget: DatagramBudget(limit: 8))
        let quiet = LinkIntake(link: 1, peer: "198.51.100.12", budget: DatagramBudget(limit: 8))
        var dropped = 0
        for _ in 0..<1_000 where flooded.admit(from: "192.0.2.12") == .backlog { dropped += 1 }
        #expect(dropped == 992)
        #expect(quiet.admit(from: "198.51.100.12") == .admit)
        quiet.budget.processed()
        flooded.budget.processed()
        #expect(flooded.admit(from: "192.0.2.12") == .admit)
    }
}
