import Engine
import Testing

@testable import Brokers

@Suite struct PythonTextTests {
    @Test func reprPicksQuotesLikePython() {
        #expect(PythonRepr.string("it's") == #""it's""#)
        #expect(PythonRepr.string(#"say "hi""#) == #"'say "hi"'"#)
        #expect(PythonRepr.string(#"both ' and ""#) == #"'both \' and "'"#)
    }

    @Test func reprEscapesNonPrintable() {
        #expect(PythonRepr.string("tab\there\u{7F}\u{200B}\u{A0}é") == #"'tab\there\x7f\u200b\xa0é'"#)
    }

    @Test func reprOfValues() {
        #expect(PythonRepr.string([nil, true, false, 1, 1.0, 1e16, 1e-5]) == "[None, True, False, 1, 1.0, 1e+16, 1e-05]")
        #expect(PythonRepr.tuple([]) == "()")
        #expect(PythonRepr.tuple([1]) == "(1,)")
        #expect(PythonRepr.tuple([1, "a"]) == "(1, 'a')")
        #expect(PythonRepr.call("f", args: [[1]], kwargs: WireFixtures.object(["k": "v"])) == "f([1], k='v')")
    }

    @Test func jsonEscapesLikeEnsureASCII() {
        let text = PythonJSON.string("é😀\u{7F}\u{01}\"\\/", separators: .spaced)
        #expect(text == #""\u00e9\ud83d\ude00\u007f\u0001\"\\/""#)
    }

    @Test func jsonSeparators() {
        let value: JSONValue = ["a": [1, 2.5], "b": nil]
        #expect(PythonJSON.string(value, separators: .spaced) == #"{"a": [1, 2.5], "b": null}"#)
        #expect(PythonJSON.string(value, separators: .compact) == #"{"a":[1,2.5],"b":null}"#)
    }
}

@Suite struct TaskPayloadTests {
    static let block = JSONValue.object(BatchCoding.encode(WireFixtures.batch))

    @Test(arguments: ["kwargs", "context", "options"])
    func findsBlock(location: String) throws {
        var task = DecodedTask(system: .rq, id: "j", queue: "default", taskName: "f", args: [], kwargs: JSONObject())
        switch location {
        case "kwargs": task.kwargs["dispatchtop"] = Self.block
        case "context": task.kwargs["context"] = ["dispatchtop": Self.block]
        default: task.options["dispatchtop"] = Self.block
        }
        #expect(try TaskPayload.batch(from: task) == WireFixtures.batch)
    }

    @Test func reportsMissingBlock() {
        let task = DecodedTask(system: .dramatiq, id: "m", queue: "default", taskName: "a", args: [], kwargs: JSONObject())
        #expect {
            try TaskPayload.batch(from: task)
        } throws: { error in
            (error as? WireFormatError)?.message.contains("no 'dispatchtop' object") == true
        }
    }
}
