/** "Which files can I upload?": every format GET /formats lists, with the header it reads. */
import { useQuery } from "@tanstack/react-query";
import { get } from "../../../api/client";
import { describe } from "../../../components/errors";
import { formatColumns, type FileFormat } from "../upload";

export const FORMATS_KEY = ["transactions", "formats"] as const;

export function useFormats() {
  return useQuery({ queryKey: FORMATS_KEY, queryFn: () => get<FileFormat[]>("/formats"), staleTime: Infinity });
}

export function FormatsHelp() {
  const formats = useFormats();
  return (
    <details className="formats-help panel">
      <summary>Which files can I upload?</summary>
      {formats.isPending && <p className="muted">Loading the formats…</p>}
      {formats.isError && (
        <p className="error" role="alert">
          The list of formats could not be loaded: {describe(formats.error)}
        </p>
      )}
      {formats.data && (
        <>
          <p className="muted">
            quantdesk detects the format from the file's header ({formats.data.length} formats). A CSV needs at least
            the columns shown; extra columns are read when the format knows them.
          </p>
          <table className="formats-table">
            <thead>
              <tr>
                <th scope="col">Format</th>
                <th scope="col">Name</th>
                <th scope="col">Columns it needs</th>
                <th scope="col">Notes</th>
              </tr>
            </thead>
            <tbody>
              {formats.data.map((format) => {
                const { columns, variants } = formatColumns(format);
                return (
                  <tr key={format.name}>
                    <td>{format.title}</td>
                    <td>
                      <code>{format.name}</code>
                    </td>
                    <td>
                      {columns}
                      {variants > 0 && <span className="muted"> (and {variants} other header variants)</span>}
                    </td>
                    <td>{format.notes}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </details>
  );
}
