import NIOCore
import ProxyEngine
import Testing

@Suite("Exchange deadline: HAProxy's timeouts as one deadline, without scheduling")
struct ExchangeDeadlineTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test("a fixed wait runs out at its instant, once")
    func fixed() {
        var deadline = ExchangeDeadline()
        #expect(deadline.check(at: start) == .none)
        deadline.wait(for: .firstRequest, until: start + .seconds(5))
        #expect(deadline.deadline == start + .seconds(5))
        #expect(deadline.check(at: start + .seconds(4)) == .notYet(start + .seconds(5)))
        #expect(deadline.check(at: start + .seconds(5)) == .expired(.firstRequest))
        #expect(deadline.check(at: start + .seconds(6)) == .none)
    }

    @Test("the server's wait starts over with each of its bytes: a wake-up before the end re-arms later")
    func serverActivity() {
        var deadline = ExchangeDeadline()
        deadline.waitForServer(limit: .seconds(10), from: start)
        deadline.serverActive(at: start + .seconds(8))
        #expect(deadline.check(at: start + .seconds(10)) == .notYet(start + .seconds(18)))
        #expect(deadline.check(at: start + .seconds(18)) == .expired(.server))
    }

    @Test("a body's wait follows the client's bytes; the server's activity does not extend it")
    func clientBody() {
        var deadline = ExchangeDeadline()
        deadline.waitForClientBody(limit: .seconds(3), from: start)
        deadline.serverActive(at: start + .seconds(2))
        deadline.clientActive(at: start + .seconds(1))
        #expect(deadline.check(at: start + .seconds(4)) == .expired(.clientBody))
    }

    @Test("a new wait replaces the one in force; clear stops waiting")
    func replaceAndClear() {
        var deadline = ExchangeDeadline()
        deadline.wait(for: .queue, until: start + .seconds(1))
        deadline.wait(for: .keepAlive, until: start + .seconds(30))
        #expect(deadline.purpose == .keepAlive)
        #expect(deadline.check(at: start + .seconds(2)) == .notYet(start + .seconds(30)))
        deadline.clear()
        #expect(deadline.deadline == nil)
        #expect(deadline.check(at: start + .seconds(31)) == .none)
    }
}
