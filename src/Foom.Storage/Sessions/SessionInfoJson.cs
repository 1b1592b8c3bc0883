using System.Text.Json.Serialization;

namespace Foom.Storage.Sessions;

/// <summary>
/// session.json's serializer metadata, generated at compile time. Every `foom run` reads the
/// app's earlier session.json files and writes its own before and after the program runs; the
/// reflection-based serializer spent about 80 ms of CPU on its first use building the same
/// metadata, most of it before the program could start. The output is byte for byte what the
/// reflection serializer wrote with the same options (tests/Foom.Storage.Tests, SessionInfoFileTests).
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(SessionInfo))]
public sealed partial class SessionInfoJson : JsonSerializerContext;
