//! What a Parquet preview's pages claim, checked before the `parquet` crate reads them:
//! it allocates a page's claimed uncompressed size up front, and the claim is in the
//! page's header, which whoever wrote the file chose. A 135 KB file whose pages claim
//! 1 GiB each took a page view to 4 GB. The headers are read by the library's
//! [`parquet_pages`](lakery::serializer::parquet_pages), without decompressing.

use parquet::file::metadata::RowGroupMetaData;

/// The bytes that reading the first rows of `columns` (leaf indexes) of `row_group`
/// may take at once: for each column its dictionary page and its largest data page, as
/// their headers claim them decompressed. An error if a header is malformed or a page
/// lies outside `file`.
pub fn claimed(
    file: &[u8],
    row_group: &RowGroupMetaData,
    columns: &[usize],
) -> Result<u64, String> {
    let mut total = 0u64;
    for &index in columns {
        let (start, len) = row_group.column(index).byte_range();
        let chunk = usize::try_from(start)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(start, len)| file.get(start..start.checked_add(len)?))
            .ok_or("a column chunk lies outside the file")?;
        let (mut dictionary, mut largest) = (0u64, 0u64);
        for page in lakery::serializer::parquet_pages(chunk).map_err(|e| e.to_string())? {
            if page.dictionary {
                dictionary = dictionary.saturating_add(page.uncompressed);
            } else {
                largest = largest.max(page.uncompressed);
            }
        }
        total = total.saturating_add(dictionary).saturating_add(largest);
    }
    Ok(total)
}
