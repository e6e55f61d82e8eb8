@testable import Engine
import Testing

@testable import Console

@Suite struct BatchDetailTests {
    private func liveBatch() -> LiveBatch {
        var arguments = JSONObject()
        arguments["product-detail"] = .object(JSONObject([("product_id", .int(7))]))
        return LiveBatch(
            id: 42, dispatcher: "threadpool", model: "shop.Product", pk: .int(7), signal: .postSave,
            ruleIDs: ["product-detail"], state: .running, createdAt: 1_796_299_200, attempt: 1,
            ruleKwargs: arguments)
    }

    private func texts(_ document: DetailDocument) -> [String] {
        document.lines.compactMap { line in
            if case .text(let text, _) = line { return text }
            return nil
        }
    }

    @Test func liveBatchDetailShowsRuleArguments() {
        let document = DetailDocument.batch(liveBatch(), rules: nil, now: 1_796_299_201, fullValues: false)
        #expect(texts(document).contains(#"    arguments {"product_id":7}"#))
    }

    @Test func ruleWithoutArgumentsSaysNone() {
        var batch = liveBatch()
        batch.ruleKwargs = JSONObject()
        let document = DetailDocument.batch(batch, rules: nil, now: 1_796_299_201, fullValues: true)
        #expect(texts(document).contains("    arguments (none)"))
    }
}
