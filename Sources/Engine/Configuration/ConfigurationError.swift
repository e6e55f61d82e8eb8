/// A configuration document that cannot be used, with where and how to fix it.
///
/// `path` is the place inside the document (`functions[2].rules[0].watch_fields`),
/// `file` and `line` the place on disk when known.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    public var path: String
    public var message: String
    public var fix: String?

    public init(path: String, message: String, fix: String? = nil, file: String? = nil, line: Int? = nil) {
        self.path = path
        self.message = message
        self.fix = fix
        self.file = file
        self.line = line
    }

    /// `FILE:LINE: PATH: MESSAGE. FIX`, leaving out the parts that are unknown.
    public var description: String {
        var text = ""
        if let file {
            text += file
            if let line { text += ":\(line)" }
            text += ": "
        }
        if !path.isEmpty { text += "\(path): " }
        text += message
        if let fix { text += ". " + fix }
        return text
    }
}

/// Suggests the closest known name for a misspelt one.
public enum NameSuggestion {
    /// Returns the candidate closest to `name` when it is close enough to be a
    /// likely typo (an edit distance of at most a third of the name, at least 1).
    public static func closest(to name: String, in candidates: [String]) -> String? {
        let lowered = name.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance < (best?.1 ?? Int.max) {
                best = (candidate, distance)
            }
        }
        guard let (candidate, distance) = best else { return nil }
        return distance <= max(1, name.count / 3) ? candidate : nil
    }

    /// Edit distance over characters, counting insertions, deletions,
    /// substitutions and swaps of two neighbours ("modle" is one edit from "model").
    public static func editDistance(_ left: String, _ right: String) -> Int {
        let a = Array(left)
        let b = Array(right)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
