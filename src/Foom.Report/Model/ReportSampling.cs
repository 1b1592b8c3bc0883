using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>
/// head.sampling: the run sampled heap blocks by bytes (`foom run --sample-bytes N`), so the live
/// figures resting on sampled blocks are estimates; what they rest on and their bound at 95 %
/// (docs/report-format.md, "Sampled runs").
/// </summary>
public sealed class ReportSampling
{
    /// <summary>N: heap blocks below N bytes were sampled, one per N bytes allocated on average; blocks of N or more, and mappings, were all recorded.</summary>
    [JsonPropertyName("sample_bytes")] public long SampleBytes { get; set; }
    /// <summary>The sampled blocks live at the end: what the estimates rest on.</summary>
    [JsonPropertyName("samples")] public long Samples { get; set; }
    /// <summary>The half-widths of live_bytes's and live_count's 95 % intervals (1.96 standard errors).</summary>
    [JsonPropertyName("live_bytes_bound")] public long LiveBytesBound { get; set; }
    [JsonPropertyName("live_count_bound")] public long LiveCountBound { get; set; }
    /// <summary>How the estimates and bounds are made, one sentence.</summary>
    [JsonPropertyName("method")] public string Method { get; set; } = "";
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
