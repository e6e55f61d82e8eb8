/// The header row's parts and how they shorten on narrow terminals.
///
/// Each part has a list of forms, longest first; an empty form hides it.
/// When the parts do not fit, ``steps`` shorten them in a fixed order, one
/// step at a time, so a given width always shows the same forms. The
/// `broker:` label, a broker's `DOWN` and the outbox count are never
/// hidden, and neither is the cache's `DOWN`: when the `cache:` label goes,
/// it reads `cache DOWN` instead.
struct HeaderLine {
    enum Part: CaseIterable {
        case title, broker, brokerDown, cache, cacheDown, events, rejected, run, outbox, writeMode
    }

    struct Segment {
        var part: Part
        var forms: [String]
        var style: CellStyle
        /// Follows the segment before it after one space instead of two.
        var attached = false
    }

    /// The shortening order. At 100 columns and more, the program name and
    /// both labels stay, even with two Redis URLs, a broker outage and an
    /// outbox. At 80 columns the locations shorten to their database, and
    /// then the program name goes.
    static let steps: [[Part]] = [
        [.events],
        [.broker, .cache],
        [.writeMode],
        [.events],
        [.broker, .cache],
        [.run],
        [.broker, .cache],
        [.events],
        [.title],
        [.outbox],
        [.rejected],
        [.cache, .cacheDown],
    ]

    /// The widest an event source's name is drawn before it is dropped.
    static let shortEventSource = 12

    var segments: [Segment] = []

    mutating func add(_ part: Part, _ forms: [String], style: CellStyle = .plain, attached: Bool = false) {
        segments.append(Segment(part: part, forms: forms, style: style, attached: attached))
    }

    /// Returns the texts to draw in `width` cells, each with its style and
    /// the gap before it.
    func fit(width: Int) -> [(text: String, style: CellStyle, gap: Int)] {
        var levels = Array(repeating: 0, count: segments.count)
        if total(levels) > width {
            for step in Self.steps {
                for index in segments.indices where step.contains(segments[index].part) {
                    levels[index] = min(levels[index] + 1, segments[index].forms.count - 1)
                }
                if total(levels) <= width { break }
            }
        }
        return shown(levels)
    }

    private func shown(_ levels: [Int]) -> [(text: String, style: CellStyle, gap: Int)] {
        var result: [(text: String, style: CellStyle, gap: Int)] = []
        for (index, segment) in segments.enumerated() {
            let text = segment.forms[levels[index]]
            guard !text.isEmpty else { continue }
            let gap = result.isEmpty ? 0 : (segment.attached ? 1 : 2)
            result.append((text, segment.style, gap))
        }
        return result
    }

    private func total(_ levels: [Int]) -> Int {
        shown(levels).reduce(0) { $0 + $1.gap + TextFit.cellWidth($1.text) }
    }
}

/// Shorter forms of a broker or cache location, for a narrow header.
enum LocationText {
    /// Returns the location as the console shows it: a Redis cache store's
    /// label `redis redis://host/1` is shown as its URL.
    static func display(_ label: String) -> String {
        for scheme in ["redis://", "rediss://", "unix://"] where label.hasPrefix("redis " + scheme) {
            return String(label.dropFirst("redis ".count))
        }
        return label
    }

    /// Returns four forms, longest first: the URL, the URL without its
    /// scheme, `…:port/db`, and `…/db`. A form that does not apply repeats
    /// the one before it, so every location shortens at the same steps. A
    /// label that is not a URL (`embedded`, `memory`) repeats four times.
    static func forms(_ label: String) -> [String] {
        var forms = [label]
        guard let scheme = label.range(of: "://") else { return Array(repeating: label, count: 4) }
        let rest = label[scheme.upperBound...]
        forms.append(String(rest))
        let slash = rest.firstIndex(of: "/")
        let authority = slash.map { rest[..<$0] } ?? rest
        let path = slash.map { String(rest[$0...]) } ?? ""
        let hostAndPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority
        if let colon = hostAndPort.lastIndex(of: ":"), !hostAndPort.hasSuffix("]") {
            forms.append("…" + hostAndPort[colon...] + path)
        } else {
            forms.append(forms[forms.count - 1])
        }
        forms.append(path.isEmpty ? forms[forms.count - 1] : "…" + path)
        return forms
    }
}
