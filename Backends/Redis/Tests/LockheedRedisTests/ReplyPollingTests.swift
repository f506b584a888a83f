import Testing

@testable import LockheedRedis

@Suite("When callers poll for replies")
struct ReplyPollingTests {
    let start = ContinuousClock.now

    @Test("a lone caller polls; a caller that overlaps another does not, nor anyone for the quiet period")
    func overlap() {
        var polling = ReplyPolling()
        let first = polling.begin(at: start)
        #expect(first && polling.alone)
        let second = polling.begin(at: start + .milliseconds(1))
        #expect(!second, "a second command in flight does not poll")
        #expect(!polling.alone, "and the first one stops polling")
        polling.end()
        polling.end()
        let soon = polling.begin(at: start + .milliseconds(15))
        #expect(!soon, "still within the quiet period")
        polling.end()
        let later = polling.begin(at: start + .milliseconds(22))
        #expect(later, "quiet for 20 ms: polling again")
        polling.end()
        #expect(polling.inFlight == 0)
    }

    @Test("a run of misses stops polling, every 16th command probes, and one catch brings polling back")
    func misses() {
        var polling = ReplyPolling()
        for _ in 0..<ReplyPolling.missLimit - 1 { polling.polled(caught: false) }
        polling.polled(caught: true)
        #expect(!polling.isOff, "misses with a catch between them do not stop polling")
        for _ in 0..<ReplyPolling.missLimit { polling.polled(caught: false) }
        #expect(polling.isOff)
        var polled: [Bool] = []
        for index in 0..<32 {
            polled.append(polling.begin(at: start + .seconds(index)))
            polling.end()
        }
        #expect(polled.filter { $0 }.count == 2, "two probes in 32 commands")
        #expect(polled[15] && polled[31])
        polling.polled(caught: true)
        let resumed = polling.begin(at: start + .seconds(40))
        #expect(resumed, "a caught probe turns polling back on")
        polling.end()
    }
}
