/// The keys that arrive together (a paste, key repeat), handled before the
/// next frame is drawn.
enum KeyBurst {
    /// The maximum number of keys handled between two frames, so a long paste still
    /// shows its progress on screen.
    static let limit = 64

    /// Hands `first`, then each key `readNext` returns, to `handle`, up to
    /// `limit` keys in all. Every key read is handled: the burst stops
    /// before reading a key it has no room for, which the next call gets.
    /// - Returns: true when `handle` requests quitting.
    static func drain(first: Key, limit: Int = limit, readNext: () -> Key?, handle: (Key) -> Bool) -> Bool {
        if handle(first) { return true }
        for _ in 1..<max(1, limit) {
            guard let key = readNext() else { break }
            if handle(key) { return true }
        }
        return false
    }
}
