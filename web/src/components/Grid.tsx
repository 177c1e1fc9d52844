/**
 * The one wrapper of AG Grid Community: registration, theme (light/dark), keyboard
 * navigation and the defaults every grid shares. Features import this and the types it
 * re-exports, never AG Grid itself.
 */
import { forwardRef, useMemo } from "react";
import { AgGridReact, type AgGridReactProps } from "ag-grid-react";
import { AllCommunityModule, ModuleRegistry, colorSchemeDark, colorSchemeLight, themeQuartz } from "ag-grid-community";
import { useTheme } from "./theme";

ModuleRegistry.registerModules([AllCommunityModule]);

export type {
  CellValueChangedEvent,
  ColDef,
  ColGroupDef,
  GetRowIdParams,
  GridApi,
  GridReadyEvent,
  ICellRendererParams,
  ValueFormatterParams,
  ValueParserParams,
  CellClassParams,
  ProcessDataFromClipboardParams,
} from "ag-grid-community";

// The app's own font (headless Chromium has no default sans-serif for AG Grid's stack).
const params = { fontSize: 13, spacing: 6, fontFamily: "inherit" } as const;
const light = themeQuartz.withPart(colorSchemeLight).withParams(params);
const dark = themeQuartz.withPart(colorSchemeDark).withParams(params);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const Grid = forwardRef<AgGridReact<any>, AgGridReactProps<any> & { label: string; height?: number | string }>(
  function Grid({ label, height = 520, defaultColDef, ...props }, ref) {
    const { theme } = useTheme();
    const defaults = useMemo(
      () => ({ sortable: true, filter: true, resizable: true, ...defaultColDef }),
      [defaultColDef],
    );
    return (
      <div className="grid" role="region" aria-label={label} style={{ height }}>
        <AgGridReact
          ref={ref}
          theme={theme === "dark" ? dark : light}
          defaultColDef={defaults}
          animateRows={false}
          {...props}
        />
      </div>
    );
  },
);
