/// Rule indices per model label, looked up once per event: ASCII labels in
/// an ``ASCIILabelTable``, others in a dictionary.
struct ModelRuleIndex: Sendable {
    private let table: ASCIILabelTable<[Int]>
    private let byLabel: [String: [Int]]

    init(_ byLabel: [String: [Int]]) {
        self.byLabel = byLabel
        table = ASCIILabelTable(byLabel.map { ($0.key, $0.value) })
    }

    /// Returns the indices of the rules on `model`, in registration order.
    func indices(for model: String) -> [Int]? {
        switch table.lookup(model) {
        case .found(let indices): return indices
        case .absent: return nil
        case .notASCII: return byLabel[model]
        }
    }
}
