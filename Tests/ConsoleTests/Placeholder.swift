import Testing

@Test func placeholderConsoleTests() { #expect(Bool(true)) }
