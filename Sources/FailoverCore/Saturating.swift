extension UInt64 {
    /// One more, or the largest value when there is none: terms and generations come from peers, and an
    /// authenticated peer that sends 2^64-1 must not make this node trap.
    var saturatingSuccessor: UInt64 {
        let (next, overflow) = addingReportingOverflow(1)
        return overflow ? .max : next
    }
}
