/**
 * Whose targets the editor holds: the whole portfolio's, or one account's own (the
 * account is then rebalanced on its own, and the portfolio's targets apply to the others).
 */
import type { Account } from "../../settings/settings";
import type { TargetsScope } from "../targets";

export function ScopePicker(props: {
  accounts: Account[];
  scope: TargetsScope;
  onChange: (scope: TargetsScope) => void;
}) {
  return (
    <label className="sug-scope">
      Targets for:
      <select value={props.scope ?? ""} onChange={(e) => props.onChange(e.target.value === "" ? null : e.target.value)}>
        <option value="">Whole portfolio</option>
        {props.accounts.map((a) => (
          <option key={a.id} value={a.name}>
            {a.name}
          </option>
        ))}
      </select>
    </label>
  );
}
