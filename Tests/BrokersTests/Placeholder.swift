import Testing

@Test func placeholderBrokersTests() { #expect(Bool(true)) }
