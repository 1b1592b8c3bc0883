using System.Buffers.Binary;
using System.Text;
using Foom.Symbols.IO;

namespace Foom.Symbols.Elf;

/// <summary>What identifies an ELF file's build: its GNU build-id note and its .gnu_debuglink, read bounds-checked.</summary>
internal static class ElfIdentity
{
    private const uint SegmentTypeNote = 4;         // PT_NOTE
    private const uint NoteTypeGnuBuildId = 3;      // NT_GNU_BUILD_ID

    public static string? FindBuildId(BinaryFile file, IReadOnlyList<ElfSection> sections, IReadOnlyList<ElfSegment> segments)
    {
        // The note sections when there are sections: a separate debug file keeps the original's
        // program headers, whose offsets no longer describe its own contents. The PT_NOTE
        // segments only for a file stripped of its section headers.
        foreach (var section in sections.Where(s => s.Type == ElfFile.SectionTypeNote && s.HasFileContents))
        {
            var id = BuildIdInNotes(file, section.Offset, section.Size, section.Alignment, section.Name.Length > 0 ? section.Name : $"note section {section.Index}");
            if (id != null) return id;
        }
        if (sections.Count > 0) return null;
        foreach (var segment in segments.Where(s => s.Type == SegmentTypeNote))
        {
            var id = BuildIdInNotes(file, segment.Offset, segment.FileSize, segment.Alignment, "PT_NOTE segment");
            if (id != null) return id;
        }
        return null;
    }

    private static string? BuildIdInNotes(BinaryFile file, ulong offset, ulong size, ulong alignment, string what)
    {
        var (start, length) = file.CheckRange(offset, size, what);
        var notes = file.Read(start, length, what);
        var align = alignment == 8 ? 8 : 4;
        var position = 0;
        while (notes.Length - position >= 12)
        {
            var nameSize = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(position));
            var descriptionSize = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(position + 4));
            var type = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(position + 8));
            var nameStart = position + 12;
            // The descriptor starts at the next multiple of the alignment after the name (8 for the
            // 8-aligned .note.gnu.property, where a 4-byte name is followed by no padding at all).
            var descriptionEnd = AlignUp((ulong)nameStart + nameSize, align);
            if (descriptionEnd > (ulong)notes.Length) throw file.Corrupt($"{what}: a note's name ({nameSize} bytes) runs past the end of the notes");
            var descriptionStart = (int)descriptionEnd;
            if (descriptionSize > (uint)(notes.Length - descriptionStart)) throw file.Corrupt($"{what}: a note's descriptor ({descriptionSize} bytes) runs past the end of the notes");
            if (type == NoteTypeGnuBuildId && nameSize == 4 && notes.AsSpan(nameStart, 4).SequenceEqual("GNU\0"u8))
            {
                if (descriptionSize == 0) throw file.Corrupt($"{what}: the GNU build-id note is empty");
                return Convert.ToHexStringLower(notes, descriptionStart, (int)descriptionSize);
            }
            var next = AlignUp((ulong)descriptionStart + descriptionSize, align);
            if (next > (ulong)notes.Length) break;
            position = (int)next;
        }
        return null;
    }

    public static ElfDebugLink? FindDebugLink(BinaryFile file, IReadOnlyList<ElfSection> sections)
    {
        var section = sections.FirstOrDefault(s => s.Name == ".gnu_debuglink" && s.HasFileContents);
        if (section == null) return null;
        var (offset, length) = file.CheckRange(section.Offset, section.Size, ".gnu_debuglink");
        var contents = file.Read(offset, length, ".gnu_debuglink");
        var end = Array.IndexOf(contents, (byte)0);
        if (end <= 0) throw file.Corrupt(".gnu_debuglink holds no file name");
        var crcOffset = (int)AlignUp((ulong)end + 1, 4);
        if (crcOffset + 4 > contents.Length) throw file.Corrupt(".gnu_debuglink is too short to hold its CRC");
        var name = Encoding.UTF8.GetString(contents, 0, end);
        if (name.Contains('/') || name is "." or "..") throw file.Corrupt($".gnu_debuglink names '{name}', which is not a plain file name");
        return new ElfDebugLink(name, BinaryPrimitives.ReadUInt32LittleEndian(contents.AsSpan(crcOffset)));
    }

    private static ulong AlignUp(ulong value, int alignment) => (value + (ulong)(alignment - 1)) & ~(ulong)(alignment - 1);
}
