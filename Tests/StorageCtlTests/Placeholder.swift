import Testing

@Test func placeholder_StorageCtlTests() {}
