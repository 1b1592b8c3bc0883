using System.IO.Compression;
using Foom.Server.Analysis;
using Foom.Server.Data;
using Foom.Symbols;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Foom.Server.Ingest;

/// <summary>
/// A symbol file (an ELF binary or debug file, a Mach-O image or a dSYM's DWARF companion) as
/// the raw body, gzip allowed. It is streamed to a file under the cap (never held whole), filed
/// by its build-id or LC_UUID, durably, before the answer; reports of apps whose main binary it
/// is are then analysed again in the background, so their issues get names.
/// </summary>
public sealed class SymbolIngest(FoomServerOptions options, SymbolStore store, Database database, Reanalysis reanalysis, ILogger<Reanalysis> logger)
{
    /// <summary>Files the request's body; <paramref name="name"/> names it in messages.</summary>
    public async Task<StoredSymbolFile> IngestAsync(HttpRequest request, string name, CancellationToken cancellationToken)
    {
        var limits = options.SymbolLimits;
        var declared = request.ContentLength;
        if (declared > limits.MaxBodyBytes) throw new UploadRejectedException(413, $"the body is {declared} bytes; at most {limits.MaxBodyBytes} are accepted");
        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (encoding.Length > 0 && !gzip) throw new UploadRejectedException(415, "Content-Encoding must be gzip or absent");
        var cap = gzip ? Math.Min(limits.MaxDecompressedBytes, declared is long d ? Math.Max(1L << 20, d * limits.MaxRatio) : limits.MaxDecompressedBytes) : limits.MaxBodyBytes;
        var incoming = Path.Combine(options.ServerDirectory, "incoming");
        Directory.CreateDirectory(incoming);
        var temporary = Path.Combine(incoming, Guid.NewGuid().ToString("N"));
        try
        {
            await CopyCappedAsync(request.Body, gzip, temporary, cap, cancellationToken);
            StoredSymbolFile stored;
            try
            {
                stored = await Task.Run(() => store.Add(temporary, cap));
            }
            catch (SymbolFileException e)
            {
                throw new UploadRejectedException(400, $"{name}: {e.Problem}");
            }
            var ids = stored.Ids.Select(i => i.Id).ToList();
            _ = Task.Run(() => ReanalyseAsync(ids, name), CancellationToken.None);
            return stored;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static async Task CopyCappedAsync(Stream body, bool gzip, string path, long cap, CancellationToken cancellationToken)
    {
        await using var file = File.Create(path);
        await using var source = gzip ? new GZipStream(body, CompressionMode.Decompress) : body;
        var buffer = new byte[81920];
        long total = 0;
        int read;
        try
        {
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > cap)
                    throw new UploadRejectedException(413, gzip ? $"the decompressed file is larger than {cap} bytes (a decompression bomb, or over the limit)" : $"the file is larger than {cap} bytes");
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (InvalidDataException e)
        {
            throw new UploadRejectedException(400, $"the gzip data is corrupt: {e.Message}");
        }
    }

    /// <summary>Analyses again the reports of every app whose main binary has one of <paramref name="ids"/>.</summary>
    private async Task ReanalyseAsync(List<string> ids, string name)
    {
        try
        {
            List<string> apps;
            using (var connection = database.Open())
                apps = Dapper.SqlMapper.Query<(string App, string Uuid)>(connection, "SELECT DISTINCT app_id, app_uuid FROM reports WHERE app_uuid IS NOT NULL")
                    .Where(r => BuildIds.Normalize(r.Uuid) is { } id && ids.Contains(id)).Select(r => r.App).Distinct().ToList();
            foreach (var app in apps) await reanalysis.RunAsync(app, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "re-analysis after the symbols upload {Name} failed", name);
        }
    }
}
