using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Foom.Report.Model;
using Foom.Server.Tests.Support;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>Server-side symbolication: a report of bare offsets gets names once its binary is uploaded.</summary>
public sealed class SymbolsTests
{
    private static string Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException($"{file} could not be started");
        var output = process.StandardOutput.ReadToEnd();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {arguments} failed ({process.ExitCode}): {errors} (gcc and binutils are needed: .ci/run installs them)");
        return output;
    }

    [Fact]
    public async Task UploadingTheBinaryNamesTheFramesAndRegroupsTheIssue()
    {
        var folder = Path.Combine(Path.GetTempPath(), "foom-symbols-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var binary = Path.Combine(folder, "gallery");
        Run("gcc", $"-O1 -g -Wl,--build-id -o \"{binary}\" \"{Path.Combine(AppContext.BaseDirectory, "Programs", "gallery.c")}\"");
        var buildId = Run("readelf", $"-n \"{binary}\"").Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("Build ID:", StringComparison.Ordinal))["Build ID:".Length..].Trim();
        var symbols = Run("nm", $"\"{binary}\"").Split('\n').Select(l => l.Split(' ')).Where(p => p.Length == 3).ToDictionary(p => p[2], p => Convert.ToUInt64(p[0], 16));

        await using var server = await TestServer.StartAsync("sqlite");
        var report = Linux("sym-1", items: [Item("Malloc 16.00 KiB", 300L << 20, 19200)]);
        report.Head.AppUuid = buildId;
        // The binary is not where the report says it ran: only the upload can name the frames.
        report.Modules.Add(new ReportModule { Uuid = buildId, Name = "gallery", Path = "/nonexistent/gallery", Base = 0x555500000000 });
        report.Items[0].Stacks.Add(new ReportStack
        {
            Caller = $"{buildId}@{symbols["decode_full_size_image"] + 9}", Size = 300L << 20, Count = 19200,
            Frames = [Frame(LibcUuid, 0x9a0e0, "malloc"), Frame(buildId, symbols["decode_full_size_image"] + 9), Frame(buildId, symbols["show_gallery"] + 12), Frame(buildId, symbols["main"] + 20)],
        });
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(report))).StatusCode);
        Assert.Equal($"{buildId}@{symbols["decode_full_size_image"] + 9} (gallery)", await Caller1Async(server));

        var upload = server.Ingest(HttpMethod.Post, "/api/v1/symbols?name=gallery");
        upload.Content = new ByteArrayContent(TestServer.Gzip(await File.ReadAllBytesAsync(binary)));
        upload.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        upload.Content.Headers.ContentEncoding.Add("gzip");
        var response = await server.Client.SendAsync(upload);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        Assert.Contains(buildId, body);

        // The app's reports are analysed again in the background; wait for the names.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string? caller1;
        while ((caller1 = await Caller1Async(server)) != "decode_full_size_image (gallery)" && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.Equal("decode_full_size_image (gallery)", caller1);
        var eigen = JsonDocument.Parse(await (await server.GetAdminAsync("/api/v1/reports/sym-1")).Content.ReadAsStringAsync()).RootElement.GetProperty("eigenvalue");
        Assert.Equal("show_gallery (gallery)", eigen.GetProperty("caller2").GetString());

        var junk = server.Ingest(HttpMethod.Post, "/api/v1/symbols?name=notes.txt");
        junk.Content = new ByteArrayContent("not a binary"u8.ToArray());
        var junkResponse = await server.Client.SendAsync(junk);
        Assert.Equal(HttpStatusCode.BadRequest, junkResponse.StatusCode);
        Assert.Contains("notes.txt", await junkResponse.Content.ReadAsStringAsync());
        Directory.Delete(folder, true);
    }

    private static async Task<string?> Caller1Async(TestServer server) =>
        JsonDocument.Parse(await (await server.GetAdminAsync("/api/v1/reports/sym-1")).Content.ReadAsStringAsync()).RootElement
            .GetProperty("eigenvalue").GetProperty("caller1").GetString();
}
